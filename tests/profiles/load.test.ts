import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { isPasserelleError } from '../../src/core/errors.js';
import { getProfile, loadProfileFile, loadProfiles, packageRoot } from '../../src/profiles/index.js';

const PROFILE_IDS = ['diematic3', 'eastron-sdm120', 'eastron-sdm630', 'senseair-s8', 'soil-dfrobot', 'soil-sensecap'];

/** Point names, addresses and units other parts of the gateway rely on. */
const CONTRACT: Record<string, ReadonlyArray<[name: string, kind: string, address: number, unit?: string, extra?: Record<string, unknown>]>> = {
  'eastron-sdm630': [
    ['voltage_l1', 'input', 0x0000, 'V', { type: 'f32', order: 'ABCD' }],
    ['current_l1', 'input', 0x0006, 'A'],
    ['power_l1', 'input', 0x000c, 'W'],
    ['power_total', 'input', 0x0034, 'W'],
    ['frequency', 'input', 0x0046, 'Hz'],
    ['energy_import', 'input', 0x0048, 'kWh', { measure: 'counter' }],
    ['energy_export', 'input', 0x004a, 'kWh', { measure: 'counter' }],
    ['energy_total', 'input', 0x0156, 'kWh', { measure: 'counter' }],
  ],
  'eastron-sdm120': [
    ['voltage_l1', 'input', 0x0000, 'V'],
    ['current_l1', 'input', 0x0006, 'A'],
    ['power_l1', 'input', 0x000c, 'W'],
    ['frequency', 'input', 0x0046, 'Hz'],
    ['energy_import', 'input', 0x0048, 'kWh', { measure: 'counter' }],
    ['energy_export', 'input', 0x004a, 'kWh', { measure: 'counter' }],
  ],
  'soil-dfrobot': [
    ['moisture', 'holding', 0, '%'],
    ['temperature', 'holding', 1, 'Cel'],
    ['ec', 'holding', 2, 'S/m', { scale: 0.0001 }],
  ],
  'soil-sensecap': [
    ['temperature', 'input', 0, 'Cel'],
    ['vwc', 'input', 1, '%'],
    ['ec', 'input', 2, 'S/m', { scale: 0.0001 }],
  ],
  'senseair-s8': [
    ['status', 'input', 0, undefined, { class: 'diagnostic' }],
    ['co2', 'input', 3, 'ppm', { class: 'environment' }],
  ],
  diematic3: [
    ['outdoor_temp', 'holding', 7, 'Cel', { type: 'sm16', scale: 0.1, noSensor: 0xffff }],
    ['zone_a_day_setpoint', 'holding', 14, 'Cel', { type: 'sm16' }],
    ['zone_a_night_setpoint', 'holding', 15, 'Cel'],
    ['zone_a_frost_setpoint', 'holding', 16, 'Cel'],
    ['zone_a_mode', 'holding', 17],
    ['zone_a_room_temp', 'holding', 18, 'Cel'],
    ['zone_a_flow_temp', 'holding', 21, 'Cel'],
    ['hot_water_setpoint', 'holding', 59, 'Cel'],
    ['hot_water_temp', 'holding', 62, 'Cel'],
    ['boiler_temp', 'holding', 75, 'Cel'],
    ['return_temp', 'holding', 453, 'Cel'],
    ['flue_gas_temp', 'holding', 454, 'Cel'],
    ['water_pressure', 'holding', 456, 'Pa', { type: 'u16', scale: 10000 }],
    ['alarm_code', 'holding', 465],
  ],
};

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'passerelle-profiles-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const VALID = `id: bad
manufacturer: Acme
model: Probe
points:
  - name: level
    kind: holding
    address: 0
    class: water
`;

/** Writes text as DIR/bad.yaml and returns the loader's error. */
function loadError(text: string, file = 'bad.yaml'): { code: string; message: string } {
  const path = join(tempDir(), file);
  writeFileSync(path, text);
  try {
    loadProfileFile(path);
  } catch (e) {
    if (isPasserelleError(e)) return { code: e.code, message: e.message.replaceAll(path, 'FILE') };
    throw e;
  }
  throw new Error('expected the profile to be rejected');
}

describe('the shipped profiles', () => {
  const profiles = loadProfiles();

  it('are the six expected, keyed by id', () => {
    expect([...profiles.keys()]).toEqual(PROFILE_IDS);
  });

  it.each(Object.entries(CONTRACT))('%s has the points other parts rely on', (id, points) => {
    const profile = profiles.get(id)!;
    for (const [name, kind, address, unit, extra] of points) {
      const p = profile.points.find((x) => x.name === name);
      expect(p, name).toMatchObject({ kind, address, ...(unit ? { unit } : {}), ...extra });
      if (!unit) expect(p!.unit, name).toBeUndefined();
    }
  });

  it('give every point a range and every range a place for its sim base', () => {
    for (const profile of profiles.values()) {
      for (const p of profile.points) {
        expect(p.range, `${profile.id}.${p.name}`).toBeDefined();
        const [min, max] = p.range!;
        if (p.sim) expect(p.sim.base, `${profile.id}.${p.name}`).toSatisfy((b: number) => b >= min && b <= max);
      }
    }
  });

  it('carry the device facts of the reference', () => {
    expect(profiles.get('senseair-s8')!.defaults.unit).toBe(254);
    expect(profiles.get('diematic3')!.limits.maxRegistersPerRead).toBe(64);
    expect(profiles.get('diematic3')!.limits.turnaroundMs).toBeGreaterThan(profiles.get('eastron-sdm630')!.limits.turnaroundMs);
    expect(profiles.get('eastron-sdm630')!.limits.maxRegistersPerRead).toBe(80);
    expect(profiles.get('eastron-sdm120')!.defaults.baud).toBe(2400);
  });

  it('are frozen', () => {
    const p = profiles.get('eastron-sdm630')!;
    expect(() => ((p.points[0] as { address: number }).address = 5)).toThrow(TypeError);
  });

  it('are found by getProfile, and an unknown id lists the known ones', () => {
    expect(getProfile('soil-dfrobot').id).toBe('soil-dfrobot');
    expect(() => getProfile('sdm630')).toThrow(expect.objectContaining({ code: 'E_PROFILE_UNKNOWN', message: expect.stringContaining('eastron-sdm630') }));
  });

  it('are found from the package root', () => {
    expect(packageRoot()).toBe(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  });
});

describe('profile errors name file, line, column and field', () => {
  it('an unknown field points at the key', () => {
    const e = loadError(VALID.replace('    address: 0', '    adress: 0'));
    expect(e).toEqual({ code: 'E_PROFILE_INVALID', message: expect.stringContaining('FILE:7:5 points.0.adress: unknown field') });
  });

  it('a wrong value points at the value', () => {
    const e = loadError(VALID.replace('address: 0', 'address: zero'));
    expect(e.message).toMatch(/^FILE:7:14 points\.0\.address: /);
  });

  it('a missing field points at the object that lacks it', () => {
    const e = loadError(VALID.replace('    class: water\n', ''));
    expect(e.message).toMatch(/^FILE:5:5 points\.0\.class: /);
  });

  it('an id that differs from the file name is refused', () => {
    expect(loadError(VALID, 'other.yaml').message).toBe('FILE:1:5 id: id "bad" must equal the file name "other"');
  });

  it('a duplicate point name and a register used twice are refused', () => {
    const text = `${VALID}  - name: level\n    kind: holding\n    address: 0\n    type: f32\n    class: water\n`;
    const e = loadError(text);
    expect(e.message.split('\n')).toEqual([
      'FILE:9:11 points.1.name: "level" is already point 0',
      'FILE:11:14 points.1.address: register 0 is also used by "level"',
    ]);
  });

  it('a word order alias is accepted, an unknown order is refused', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.yaml'), VALID.replace('    class: water', '    class: water\n    type: f32\n    order: word-swap'));
    expect(loadProfiles(dir).get('bad')!.points[0]!.order).toBe('CDAB');
    expect(loadError(VALID.replace('    class: water', '    class: water\n    order: swapped')).message).toMatch(/^FILE:9:12 points\.0\.order: unknown word order/);
  });

  it('a YAML syntax error is reported with its position', () => {
    const e = loadError('id: bad\npoints: [\n');
    expect(e.code).toBe('E_PROFILE_YAML');
    expect(e.message).toMatch(/^FILE:\d+:\d+ /);
  });

  it('a missing folder is reported', () => {
    expect(() => loadProfiles(join(tempDir(), 'nope'))).toThrow(expect.objectContaining({ code: 'E_PROFILE_DIR' }));
  });

  it('any mangled profile loads or fails with located messages, never a crash', () => {
    const base = { id: 'bad', manufacturer: 'Acme', model: 'Probe', points: [{ name: 'level', kind: 'holding', address: 0, class: 'water' }] };
    const fieldName = fc.constantFrom('id', 'model', 'limits', 'identify', 'points', 'defaults', 'name', 'kind', 'address', 'type', 'order', 'scale', 'sim', 'range', 'extra');
    fc.assert(
      fc.property(fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), fc.boolean(), (patch, onPoint) => {
        const doc = onPoint ? { ...base, points: [{ ...base.points[0], ...patch }] } : { ...base, ...patch };
        const path = join(tempDir(), 'bad.yaml');
        writeFileSync(path, stringify(doc));
        try {
          loadProfileFile(path);
        } catch (e) {
          expect(isPasserelleError(e)).toBe(true);
          for (const line of (e as Error).message.split('\n')) expect(line.startsWith(`${path}:`)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
