/**
 * Issue 13 items 3 and 4: what `run` would refuse or silently ignore, the loader refuses first, at the
 * line to edit: a policy rule that matches no point, zero durations, per-point settings for a point
 * the device does not read, two SDI-12 values of one name.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.js';
import { policyGlobMatches } from '../../src/config/policy-match.js';
import { knownProfiles } from '../../src/gateway/load-site.js';
import { buildDrivers } from '../../src/gateway/build-drivers.js';
import { createLogger } from '../../src/core/logger.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { QualityChecker } from '../../src/pipeline/quality.js';
import { edit, issuesOf, positionOf, VALID_SITE } from './helpers.js';
import { loadDriverModules } from '../../src/gateway/driver-modules.js';

// The serial line drivers are imported on demand (a TCP-only gateway never loads them): these tests build them directly.
await loadDriverModules();

const FILE = 'site.yaml';
const profiles = loadProfiles();
const load = (text: string) => loadConfigText(text, FILE, { knownProfiles: knownProfiles(profiles) });

const TIC_SITE = `${VALID_SITE}    - match: linky.sinsts
      statistics: [mean]
`.replace('devices:\n', 'devices:\n  - { id: linky, bus: tic, protocol: tic }\n').replace('buses:\n', 'buses:\n  - { id: tic, type: serial, port: /dev/ttyAMA0 }\n');

describe('a policy rule must match a point of the site', () => {
  it('the valid sites load', () => {
    expect(load(VALID_SITE).ok).toBe(true);
    expect(load(TIC_SITE).ok).toBe(true);
  });

  it('a misspelt point is refused at the match, with the closest point', () => {
    const text = edit(VALID_SITE, 'match: meter.power_total', 'match: meter.power_totl');
    const issues = issuesOf(load(text));
    expect(issues).toEqual([
      {
        file: FILE,
        ...positionOf(text, 'meter.power_totl'),
        path: 'policy.allow[0].match',
        message: 'no point of this site matches "meter.power_totl" (did you mean "meter.power_total"?), so this rule allows nothing',
      },
    ]);
  });

  it('a glob matching nothing is refused; one matching a point is accepted', () => {
    expect(issuesOf(load(edit(VALID_SITE, 'match: meter.power_total', 'match: "*.temprature"')))[0]!.message).toMatch(/no point of this site matches "\*\.temprature"/);
    expect(load(edit(VALID_SITE, 'match: meter.power_total', 'match: "*.temperature"')).ok).toBe(true);
    expect(load(edit(VALID_SITE, 'match: meter.power_total', 'match: "meter.power_*"')).ok).toBe(true);
  });

  it('only the points a device selects count', () => {
    const text = edit(VALID_SITE, 'poll: 10s', 'poll: 10s\n    points: [energy_import]');
    expect(issuesOf(load(text))[0]!.path).toBe('policy.allow[0].match');
  });

  it('TIC points are the labels kept, lower case', () => {
    const typo = issuesOf(load(edit(TIC_SITE, 'linky.sinsts', 'linky.snists')));
    expect(typo[0]!.message).toContain('(did you mean "linky.sinsts"?)');
    const listed = edit(TIC_SITE, 'protocol: tic }', 'protocol: tic, tic: { labels: [EAST] } }');
    expect(issuesOf(load(listed))[0]!.path).toBe('policy.allow[1].match');
  });

  it('an unknown device stays reported once, by the device check', () => {
    const issues = issuesOf(load(edit(VALID_SITE, 'match: meter.power_total', 'match: meterr.power_total')));
    expect(issues.map((i) => i.message)).toEqual([expect.stringContaining('no device "meterr"')]);
  });

  it('matches as a glob where * is any run of characters, dots included', () => {
    // Reference semantics, written the obvious (backtracking) way; fine on 8-character inputs.
    const globToRegExp = (glob: string) => new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    const word = fc.stringMatching(/^[a-z*._]{0,8}$/);
    fc.assert(fc.property(word, word, (glob, key) => policyGlobMatches(glob, key) === globToRegExp(glob).test(key)));
  });
});

describe('what run refuses, the loader refuses first', () => {
  it('a poll or timeout of zero (or rounding to zero) is refused at its value', () => {
    for (const [from, to, at] of [
      ['poll: 10s', 'poll: 0s', '0s'],
      ['poll: 10s', 'poll: 0.0001', '0.0001'],
      ['host: 127.0.0.1', 'host: 127.0.0.1\n    timeout: 0ms', '0ms'],
    ] as const) {
      const text = edit(VALID_SITE, from, to);
      const [issue] = issuesOf(load(text));
      expect(issue).toMatchObject({ ...positionOf(text, at, to), message: expect.stringContaining('at least 1ms') });
    }
  });

  it('quality or pointPoll for a point the device does not read is refused at its key', () => {
    for (const section of ['quality: { temprature: { stuckAfter: 3 } }', 'pointPoll: { temprature: 1m }']) {
      const text = edit(VALID_SITE, 'profile: soil-dfrobot', `profile: soil-dfrobot\n    ${section}`);
      const [issue] = issuesOf(load(text));
      expect(issue).toMatchObject({ ...positionOf(text, 'temprature'), message: '"temprature" is not one of this device\'s points (did you mean "temperature"?)' });
    }
  });

  it('two SDI-12 values of one name are refused', () => {
    const text = VALID_SITE.replace('devices:\n', 'devices:\n  - { id: probe, bus: sdi, protocol: sdi12, sdi12: { address: "0", values: [{ name: t, class: environment }, { name: t, class: environment }] } }\n')
      .replace('buses:\n', 'buses:\n  - { id: sdi, type: serial, port: /dev/ttyAMA0 }\n');
    const [issue] = issuesOf(load(text));
    expect(issue).toMatchObject({ path: 'devices[0].sdi12.values[1].name', message: expect.stringContaining('already the name') });
  });

  it('quality settings on a serial device are checked against its points, and pointPoll is refused there', () => {
    const typo = edit(TIC_SITE, 'protocol: tic }', 'protocol: tic, quality: { sinstz: { range: [0, 9000] } } }');
    expect(issuesOf(load(typo))[0]).toMatchObject({ ...positionOf(typo, 'sinstz:'), message: expect.stringContaining('(did you mean "sinsts"?)') });
    const polled = edit(TIC_SITE, 'protocol: tic }', 'protocol: tic, pointPoll: { sinsts: 1m } }');
    expect(issuesOf(load(polled))[0]).toMatchObject({ path: 'devices[0].pointPoll', message: expect.stringContaining('Modbus devices only') });
  });

  it('quality settings on a serial device take effect (they were silently ignored)', () => {
    const text = edit(TIC_SITE, 'protocol: tic }', 'protocol: tic, quality: { sinsts: { range: [0, 9000], stuckAfter: 3 } } }');
    const result = load(text);
    if (!result.ok) expect.fail(result.errors.map((e) => e.message).join('\n'));
    const built = buildDrivers(result.config, profiles, createLogger('silent'));
    expect(built.points.find((p) => p.device === 'linky' && p.point === 'sinsts')?.range).toEqual([0, 9000]);
    const checker = new QualityChecker(built.quality);
    const reading = (ts: number, value: number) => ({ device: 'linky', point: 'sinsts', ts, value, quality: 'good' as const });
    expect(checker.check(reading(1000, 12_000))).toMatchObject({ quality: 'bad', reason: 'range' });
    const repeated = [2000, 3000, 4000, 5000].map((ts) => checker.check(reading(ts, 1500)));
    expect(repeated.map((r) => r.quality)).toContain('bad'); // stuck after 3 equal readings
  });

  it('a line device must list its fields: without a data class nothing would ever be summarised', () => {
    const site = (line: string) => VALID_SITE.replace('devices:\n', `devices:\n  - { id: thermo, bus: com, protocol: line, line: ${line} }\n`)
      .replace('buses:\n', 'buses:\n  - { id: com, type: serial, port: /dev/ttyAMA0 }\n');
    const bare = site('{ pairSeparator: ";" }');
    expect(issuesOf(load(bare))[0]).toMatchObject({ path: 'devices[0].line', message: expect.stringContaining('line.fields') });
    const listed = load(site('{ fields: { T: { unit: Cel, class: comfort } } }'));
    if (!listed.ok) expect.fail(listed.errors.map((e) => e.message).join('\n'));
    expect(buildDrivers(listed.config, profiles, createLogger('silent')).points).toContainEqual(expect.objectContaining({ device: 'thermo', point: 'T', dataClass: 'comfort' }));
  });

  it('a config the loader accepts builds its drivers', () => {
    const text = edit(VALID_SITE, 'profile: soil-dfrobot', 'profile: soil-dfrobot\n    quality: { temperature: { stuckAfter: 3 } }\n    pointPoll: { moisture: 1m }');
    const result = load(text);
    if (!result.ok) expect.fail(result.errors.map((e) => e.message).join('\n'));
    expect(() => buildDrivers(result.config, profiles, createLogger('silent'))).not.toThrow();
  });
});
