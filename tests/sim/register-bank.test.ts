import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePoint, encodeValue, registersFor } from '../../src/drivers/modbus/codec.js';
import { getProfile, loadProfiles, profileSchema, type Profile } from '../../src/profiles/index.js';
import { createRegisterBank, UNMAPPED_MARGIN, type Unmapped } from '../../src/sim/register-bank.js';

const T0 = Date.UTC(2025, 0, 15, 8, 0, 0);

/** A bank on a clock the test moves. */
function bankAt(profile: Profile, seed = 1, unmapped?: Unmapped) {
  let t = T0;
  const bank = createRegisterBank(profile, { seed, now: () => t, unmapped });
  return { bank, setTime: (ms: number) => (t = ms) };
}

function readPoint(bank: ReturnType<typeof createRegisterBank>, name: string): number | null {
  const p = bank.profile.points.find((x) => x.name === name)!;
  const words = bank.read(p.kind, p.address, registersFor(p.type));
  if (!Array.isArray(words)) throw new Error(`exception ${words.exception} reading ${name}`);
  return decodePoint(words, p).value;
}

const profiles = [...loadProfiles().values()];

describe('register bank values', () => {
  it.each(profiles.map((p) => [p.id, p] as const))('%s serves what expectedValue and lastServed say, inside the range', (_id, profile) => {
    const { bank, setTime } = bankAt(profile);
    for (const t of [T0, T0 + 61_000, T0 + 3_600_000]) {
      setTime(t);
      for (const p of profile.points) {
        const decoded = readPoint(bank, p.name);
        expect(bank.lastServed(p.name)).toEqual({ value: decoded, atMs: t });
        expect(bank.expectedValue(p.name, t)).toBe(decoded);
        expect(decoded).not.toBeNull();
        const [min, max] = p.range!;
        expect(decoded!).toBeGreaterThanOrEqual(min - 1e-3);
        expect(decoded!).toBeLessThanOrEqual(max + 1e-3);
      }
    }
  });

  it('moves gauges around their base within the amplitude (plus 5 % noise)', () => {
    const { bank, setTime } = bankAt(getProfile('eastron-sdm630'));
    const seen: number[] = [];
    for (let s = 0; s < 900; s += 30) {
      setTime(T0 + s * 1000);
      seen.push(readPoint(bank, 'voltage_l1')!);
    }
    expect(Math.max(...seen) - Math.min(...seen)).toBeGreaterThan(3); // amplitude 3 V over a full 900 s period
    for (const v of seen) expect(Math.abs(v - 230)).toBeLessThanOrEqual(3 * 1.05 + 1e-3);
  });

  it('grows counters at ratePerHour', () => {
    const { bank, setTime } = bankAt(getProfile('eastron-sdm630'));
    const start = readPoint(bank, 'energy_import')!;
    setTime(T0 + 2 * 3_600_000);
    expect(readPoint(bank, 'energy_import')! - start).toBeCloseTo(2 * 5.4, 2);
  });

  it('never lets a counter decrease, whatever the clock does', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -86_400_000, max: 30 * 86_400_000 }), { minLength: 2, maxLength: 30 }), (offsets) => {
        const { bank, setTime } = bankAt(getProfile('eastron-sdm120'));
        let previous = -Infinity;
        for (const dt of offsets) {
          setTime(T0 + dt);
          const v = readPoint(bank, 'energy_total')!;
          expect(v).toBeGreaterThanOrEqual(previous);
          previous = v;
        }
      }),
      { numRuns: 100 },
    );
  });

  it('is deterministic per seed and differs between seeds', () => {
    const profile = getProfile('soil-dfrobot');
    const a = bankAt(profile, 7).bank.read('holding', 0, 3);
    const b = bankAt(profile, 7).bank.read('holding', 0, 3);
    const c = bankAt(profile, 8).bank.read('holding', 0, 3);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('serves each half of a 32-bit value on its own', () => {
    const { bank } = bankAt(getProfile('eastron-sdm630'));
    const both = bank.read('input', 0x48, 2) as number[];
    expect([...(bank.read('input', 0x48, 1) as number[]), ...(bank.read('input', 0x49, 1) as number[])]).toEqual(both);
  });

  it('answers identify registers with their expected value', () => {
    const { bank } = bankAt(getProfile('soil-sensecap'));
    expect(bank.read('holding', 0x0201, 1)).toEqual([3]);
  });

  it('names the profile when asked for an unknown point', () => {
    const { bank } = bankAt(getProfile('senseair-s8'));
    expect(() => bank.expectedValue('co3', T0)).toThrow(expect.objectContaining({ code: 'E_SIM_POINT' }));
    expect(bank.lastServed('co2')).toBeUndefined();
  });
});

describe('register bank exceptions', () => {
  const sdm630 = bankAt(getProfile('eastron-sdm630'), 1, 'refuse').bank;

  it.each([
    ['a hole between points', 'input', 0x0012, 2, 2],
    ['a read running into a hole', 'input', 0x0010, 4, 2],
    ['a register kind the device lacks', 'coil', 0, 1, 2],
    ['a read past register 65535', 'input', 0xfffe, 4, 2],
    ['zero registers', 'input', 0, 0, 3],
    ['more than the device limit (80)', 'input', 0, 81, 3],
  ] as const)('%s -> exception %i', (_what, kind, address, count, code) => {
    expect(sdm630.read(kind, address, count)).toEqual({ exception: code });
  });

  it('refuses ranges listed in limits.refuse even where a point lies', () => {
    const profile = profileSchema.parse({
      id: 'refusing',
      manufacturer: 'Test',
      model: 'Refusing',
      limits: { refuse: [{ kind: 'holding', start: 2, end: 3 }] },
      points: [0, 1, 2, 3, 4].map((a) => ({ name: `r${a}`, kind: 'holding', address: a, class: 'diagnostic', sim: { base: a } })),
    });
    const { bank } = bankAt(profile);
    expect(bank.read('holding', 0, 2)).toEqual([0, 1]);
    expect(bank.read('holding', 1, 2)).toEqual({ exception: 2 });
    expect(bank.read('holding', 3, 2)).toEqual({ exception: 2 });
    expect(bank.read('holding', 4, 1)).toEqual([4]);
  });

  it('serves zeros in holes by default, as a real SDM630 does, but not far past its map', () => {
    const profile = getProfile('eastron-sdm630');
    const { bank } = bankAt(profile);
    expect(bank.read('input', 0x0012, 2)).toEqual([0, 0]);
    const words = bank.read('input', 0x0010, 4) as number[];
    expect(words.slice(2)).toEqual([0, 0]);
    expect(words.slice(0, 2)).toEqual(bank.read('input', 0x0010, 2));
    const highest = Math.max(...profile.points.filter((p) => p.kind === 'input').map((p) => p.address + registersFor(p.type) - 1));
    expect(bank.read('input', highest + UNMAPPED_MARGIN, 1)).toEqual([0]);
    expect(bank.read('input', highest + UNMAPPED_MARGIN, 2)).toEqual({ exception: 2 });
    expect(bank.read('coil', 0, 1)).toEqual({ exception: 2 });
  });

  it('still refuses limits.refuse ranges when unmapped addresses answer zeros', () => {
    const profile = profileSchema.parse({
      id: 'refusing',
      manufacturer: 'Test',
      model: 'Refusing',
      limits: { refuse: [{ kind: 'holding', start: 5, end: 6 }] },
      points: [{ name: 'r0', kind: 'holding', address: 0, class: 'diagnostic', sim: { base: 7 } }],
    });
    const { bank } = bankAt(profile);
    expect(bank.read('holding', 0, 5)).toEqual([7, 0, 0, 0, 0]);
    expect(bank.read('holding', 4, 2)).toEqual({ exception: 2 });
  });

  it('serves coils as 0/1 bits', () => {
    const profile = profileSchema.parse({
      id: 'relays',
      manufacturer: 'Test',
      model: 'Relays',
      points: [
        { name: 'on', kind: 'coil', address: 0, type: 'bool', class: 'status', sim: { base: 1 } },
        { name: 'off', kind: 'coil', address: 1, type: 'bool', class: 'status', sim: { base: 0 } },
      ],
    });
    expect(bankAt(profile).bank.read('coil', 0, 2)).toEqual([1, 0]);
  });
});

describe('register bank writes', () => {
  const profile = profileSchema.parse({
    id: 'thermostat',
    manufacturer: 'Test',
    model: 'Thermostat',
    points: [
      { name: 'setpoint', kind: 'holding', address: 10, type: 'i16', scale: 0.1, class: 'comfort', sim: { base: 20 } },
      { name: 'limit', kind: 'holding', address: 12, type: 'f32', class: 'comfort', sim: { base: 1 } },
      { name: 'relay', kind: 'coil', address: 0, type: 'bool', class: 'status', sim: { base: 0 } },
      { name: 'temperature', kind: 'input', address: 0, type: 'i16', scale: 0.1, class: 'comfort', sim: { base: 19 } },
    ],
  });

  it('serves written words in place of the simulated signal, for reads and expectedValue', () => {
    const { bank } = bankAt(profile);
    expect(bank.write('holding', 10, [215])).toEqual({ ok: true });
    expect(readPoint(bank, 'setpoint')).toBe(21.5);
    expect(bank.expectedValue('setpoint', T0 + 60_000)).toBe(21.5);
    expect(bank.write('coil', 0, [1])).toEqual({ ok: true });
    expect(bank.read('coil', 0, 1)).toEqual([1]);
  });

  it('writes a 32-bit point over its two registers', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const { bank } = bankAt(profile);
        expect(bank.write('holding', 12, encodeValue(v, 'f32', 'ABCD'))).toEqual({ ok: true });
        expect(readPoint(bank, 'limit')).toBe(v === 0 ? 0 : Math.fround(v));
      }),
      { numRuns: 50 },
    );
  });

  it('refuses writes to read-only kinds, unmapped addresses and bad values', () => {
    const { bank } = bankAt(profile);
    expect(bank.write('input', 0, [1])).toEqual({ exception: 1 });
    expect(bank.write('holding', 11, [1])).toEqual({ exception: 2 });
    expect(bank.write('holding', 10, [0x10000])).toEqual({ exception: 3 });
    expect(bank.write('holding', 10, [])).toEqual({ exception: 3 });
  });
});
