import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIssue, loadConfigFile, loadConfigText, MAX_CONFIG_BYTES, validateConfigRefs } from '../../src/config/index.js';
import { edit, issuesOf, positionOf, VALID_SITE } from './helpers.js';

const FILE = 'site.yaml';

describe('loadConfigText on a valid site', () => {
  it('returns the parsed config with defaults and durations in ms', () => {
    const result = loadConfigText(VALID_SITE, FILE);
    if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
    const { config } = result;
    expect(config.site.timezone).toBe('Europe/Paris');
    expect(config.devices[0]!.poll).toBe(10_000);
    expect(config.devices[1]!.poll).toBe(10_000);
    expect(config.buses[0]).toMatchObject({ type: 'serial', baud: 9600, parity: 'none' });
    expect(config.buses[1]).toMatchObject({ type: 'tcp', port: 502 });
  });

  it('freezes the config so runtime code cannot change it', () => {
    const result = loadConfigText(VALID_SITE, FILE);
    if (!result.ok) expect.fail('valid site rejected');
    expect(Object.isFrozen(result.config.devices[0])).toBe(true);
    expect(() => (result.config.devices as unknown[]).push({})).toThrow(TypeError);
  });

  it('resolves anchors and merge keys, and still points into the anchored mapping', () => {
    const text = edit(VALID_SITE, '  - id: soil\n    bus: line1\n', '  - id: soil\n    <<: &common { bus: line1, pol: 5s }\n');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ ...positionOf(text, 'pol:'), path: 'devices[1].pol' });
  });
});

describe('each kind of mistake is reported at its line', () => {
  it('a misspelt key gives exactly one issue at the key, with a suggestion', () => {
    const text = edit(VALID_SITE, 'poll: 10s', 'pol: 5s');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toEqual({ file: FILE, ...positionOf(text, 'pol:'), path: 'devices[0].pol', message: 'unknown key "pol" (did you mean "poll"?)' });
    const { line, col } = positionOf(text, 'pol:');
    expect(formatIssue(issues[0]!)).toBe(`${FILE}:${line}:${col} devices[0].pol: unknown key "pol" (did you mean "poll"?)`);
  });

  it('an unknown key with nothing close gets no suggestion', () => {
    const text = edit(VALID_SITE, 'poll: 10s', 'colour: red');
    expect(issuesOf(loadConfigText(text, FILE))[0]!.message).toBe('unknown key "colour"');
  });

  it('a wrong type points at the value', () => {
    const text = edit(VALID_SITE, 'unit: 2', 'unit: two');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, 'two'), path: 'devices[1].unit' });
    expect(issue!.message).toContain('expected a number');
  });

  it('a quoted number is explained', () => {
    const text = edit(VALID_SITE, 'port: /dev/ttyUSB0', 'port: /dev/ttyUSB0\n    baud: "9600"');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, '"9600"'), path: 'buses[0].baud' });
    expect(issue!.message).toMatch(/remove the quotes/);
  });

  it('a bad duration points at the value and shows what was written', () => {
    const text = edit(VALID_SITE, 'poll: 10s', 'poll: 10 sec');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, '10 sec'), path: 'devices[0].poll' });
    expect(issue!.message).toContain('"10 sec"');
  });

  it('a misspelt enum value suggests the closest accepted value', () => {
    const text = edit(VALID_SITE, 'type: tcp', 'type: tpc');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, 'tpc'), path: 'buses[1].type' });
    expect(issue!.message).toBe('"tpc" is not one of serial, tcp (did you mean "tcp"?)');
  });

  it('an unknown bus reference points at the device\'s bus', () => {
    const text = edit(VALID_SITE, 'bus: line1\n    unit: 2', 'bus: line2\n    unit: 2');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ ...positionOf(text, 'line2'), path: 'devices[1].bus' });
    expect(issues[0]!.message).toMatch(/unknown bus "line2" \(did you mean "line1"\?\)/);
  });

  it('a duplicate device id points at the second one', () => {
    const text = edit(VALID_SITE, 'id: soil', 'id: meter');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ ...positionOf(text, 'meter', 'bus: line1'), path: 'devices[1].id' });
    expect(issues[0]!.message).toContain('duplicate device id "meter"');
  });

  it('a duplicate bus id points at the second one', () => {
    const text = edit(VALID_SITE, 'id: lan', 'id: line1');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ ...positionOf(text, 'line1', 'port: /dev/ttyUSB0'), path: 'buses[1].id' });
  });

  it('two devices with one unit id on one line are refused', () => {
    const text = edit(VALID_SITE, 'unit: 2', 'unit: 1');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    const unit = positionOf(text, 'unit: 1', 'id: soil');
    expect(issues[0]).toMatchObject({ line: unit.line, col: unit.col + 'unit: '.length, path: 'devices[1].unit' });
  });

  it('a policy rule naming no device is reported', () => {
    const text = edit(VALID_SITE, 'match: meter.power_total', 'match: meterr.power_total');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, 'meterr.'), path: 'policy.allow[0].match' });
    expect(issue!.message).toContain('did you mean "meter"');
  });

  it('a YAML syntax error gives its line and stops there', () => {
    const text = edit(VALID_SITE, 'statistics: [mean]', 'statistics: [mean');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues.length).toBeGreaterThanOrEqual(1);
    expect(issues.every((i) => i.message.startsWith('YAML syntax'))).toBe(true);
    expect(issues[0]!.line).toBeGreaterThanOrEqual(positionOf(text, '[mean').line);
  });

  it('a tab indentation error is a syntax error at its line', () => {
    const text = edit(VALID_SITE, '  name: Test site', '\tname: Test site');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue!.line).toBe(positionOf(text, '\tname').line);
  });

  it('a duplicate key points at the second occurrence', () => {
    const text = edit(VALID_SITE, '    poll: 10s\n', '    poll: 10s\n    poll: 20s\n');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ ...positionOf(text, 'poll: 20s'), path: 'devices[0].poll' });
    expect(issues[0]!.message).toContain('duplicate key "poll"');
  });

  it('a missing required key points at the parent mapping', () => {
    const text = edit(VALID_SITE, '  keyFile: /tmp/test.key\n', '');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, 'path: /tmp'), path: 'store.keyFile', message: 'missing required key "keyFile"' });
  });

  it('an empty value points at its key', () => {
    const text = edit(VALID_SITE, '  id: gw-1\n', '');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, 'gateway:'), path: 'gateway' });
  });

  it('an empty file says so', () => {
    expect(issuesOf(loadConfigText('', FILE))).toEqual([
      { file: FILE, line: 1, col: 1, path: '(root)', message: expect.stringContaining('empty') },
    ]);
  });
});

describe('every issue is reported, in file order', () => {
  it('reports a typo, a bad value and a bad reference together', () => {
    let text = edit(VALID_SITE, 'poll: 10s', 'pol: 10s');
    text = edit(text, 'unit: 2', 'unit: 999');
    text = edit(text, 'bus: line1\n    unit: 1', 'bus: nowhere\n    unit: 1');
    text = edit(text, 'type: tcp', 'type: tcp\n    retries: 9');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues.map((i) => i.path)).toEqual(['buses[1].retries', 'devices[0].bus', 'devices[0].pol', 'devices[1].unit']);
    expect(issues.map((i) => i.line)).toEqual([
      positionOf(text, 'retries: 9').line,
      positionOf(text, 'nowhere').line,
      positionOf(text, 'pol:').line,
      positionOf(text, '999').line,
    ]);
  });

  it('a field the schema rejects gets no second, derived complaint', () => {
    const text = edit(VALID_SITE, 'bus: line1\n    unit: 1', 'bus: Line-1\n    unit: 1');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain('lowercase');
  });
});

describe('validateConfigRefs', () => {
  it('points at the profile of a device whose profile is unknown', () => {
    const result = loadConfigText(VALID_SITE, FILE);
    if (!result.ok) expect.fail('valid site rejected');
    const issues = validateConfigRefs(result.config, new Set(['eastron-sdm630', 'soil-sensecap']));
    expect(issues).toEqual([
      { file: FILE, ...positionOf(VALID_SITE, 'soil-dfrobot'), path: 'devices[1].profile', message: expect.stringContaining('unknown profile "soil-dfrobot"') },
    ]);
    expect(validateConfigRefs(result.config, new Set(['eastron-sdm630', 'soil-dfrobot']))).toEqual([]);
    expect(validateConfigRefs(result.config)).toEqual([]);
  });

  it('with point names, points at a misspelt point in points or writable', () => {
    const text = edit(VALID_SITE, 'profile: soil-dfrobot', 'profile: soil-dfrobot\n    points: [moisture, temprature]\n    writable: [ec]');
    const result = loadConfigText(text, FILE);
    if (!result.ok) expect.fail('valid site rejected');
    const profiles = new Map([['eastron-sdm630', ['power_total']], ['soil-dfrobot', ['moisture', 'temperature']]]);
    const issues = validateConfigRefs(result.config, profiles);
    expect(issues.map((i) => [i.path, i.line, i.col])).toEqual([
      ['devices[1].points[1]', positionOf(text, 'temprature').line, positionOf(text, 'temprature').col],
      ['devices[1].writable[0]', positionOf(text, '[ec]').line, positionOf(text, '[ec]').col + 1],
    ]);
    expect(issues[0]!.message).toBe('profile "soil-dfrobot" has no point "temprature" (did you mean "temperature"?)');
  });

  it('is also available at load time', () => {
    const text = edit(VALID_SITE, 'profile: eastron-sdm630', 'profile: eastron-sdm603');
    const [issue] = issuesOf(loadConfigText(text, FILE, { knownProfiles: new Set(['eastron-sdm630', 'soil-dfrobot']) }));
    expect(issue).toMatchObject({ ...positionOf(text, 'eastron-sdm603'), message: expect.stringContaining('did you mean "eastron-sdm630"') });
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file and names it in issues', async () => {
    const file = join(dir, 'typo.yaml');
    const text = edit(VALID_SITE, 'poll: 10s', 'pol: 10s');
    await writeFile(file, text);
    const [issue] = issuesOf(await loadConfigFile(file));
    const { line, col } = positionOf(text, 'pol:');
    expect(formatIssue(issue!).startsWith(`${file}:${line}:${col} devices[0].pol: `)).toBe(true);
  });

  it('reports a missing file as an issue, not a throw', async () => {
    const [issue] = issuesOf(await loadConfigFile(join(dir, 'absent.yaml')));
    expect(issue).toMatchObject({ path: '(file)', message: expect.stringContaining('cannot read') });
  });

  it('refuses a file above the size bound before parsing it', async () => {
    const file = join(dir, 'huge.yaml');
    await writeFile(file, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n${VALID_SITE}`);
    const [issue] = issuesOf(await loadConfigFile(file));
    expect(issue!.message).toContain('at most');
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    const [issue] = issuesOf(loadConfigText(`${lines.join('\n')}\n`, FILE));
    expect(issue!.message).toContain('alias');
  });
});
