import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policySchema, type PolicyConfig } from '../../src/config/schema.js';
import { NEVER_UPSTREAM, pointKey, type PointSummary, type WindowSummary } from '../../src/core/types.js';
import { applyPolicy, globToRegExp, VALUE_STATISTICS } from '../../src/uplink/policy.js';
import { summaryAndPolicyArb } from './arbitraries.js';

const point = (over: Partial<PointSummary> & Pick<PointSummary, 'device' | 'point'>): PointSummary => ({
  dataClass: 'energy',
  measure: 'gauge',
  count: 30,
  expected: 30,
  min: 1,
  max: 3,
  mean: 2,
  last: 3,
  bad: { timeout: 2 },
  ...over,
});

const summary = (points: PointSummary[]): WindowSummary => ({
  id: 'site-a:gw-1:1700000000000',
  site: 'site-a',
  gateway: 'gw-1',
  start: 1_700_000_000_000,
  end: 1_700_000_300_000,
  points,
});

const policy = (allow: PolicyConfig['allow'], minCount: PolicyConfig['minCount'] = {}): PolicyConfig => policySchema.parse({ allow, minCount });

const keysOf = (s: WindowSummary): string[] => s.points.map((p) => pointKey(p.device, p.point));

describe('globToRegExp', () => {
  it('lets * match any run of characters, dots included, and nothing else be special', () => {
    expect(globToRegExp('meter-main.*').test('meter-main.energy_total')).toBe(true);
    expect(globToRegExp('meter-main.*').test('meter-main2.energy')).toBe(false);
    expect(globToRegExp('*.temperature').test('room-1.temperature')).toBe(true);
    expect(globToRegExp('*.temperature').test('room-1.temperature_max')).toBe(false);
    expect(globToRegExp('a.b').test('aXb')).toBe(false);
    expect(globToRegExp('a*').test('a')).toBe(true);
    expect(globToRegExp('(x)+[y]').test('(x)+[y]')).toBe(true);
  });
});

describe('applyPolicy', () => {
  const meter = point({ device: 'meter-main', point: 'energy', measure: 'counter', delta: 12.5, unit: 'kWh' });
  const room = point({ device: 'room-1', point: 'temperature', dataClass: 'comfort', unit: 'Cel' });
  const badge = point({ device: 'door', point: 'badge_id', dataClass: 'identifier', last: 'A1B2' });

  it('keeps only points an allow rule matches, with only the statistics the rules allow', () => {
    const out = applyPolicy(summary([meter, room]), policy([{ match: 'meter-main.*', statistics: ['delta'] }]));
    expect(keysOf(out)).toEqual(['meter-main.energy']);
    expect(out.points[0]).toEqual({ ...meter, min: undefined, max: undefined, mean: undefined, last: undefined });
    expect(Object.keys(out.points[0]!)).not.toContain('mean');
  });

  it('unions the statistics of every matching rule', () => {
    const out = applyPolicy(
      summary([room]),
      policy([
        { match: '*.temperature', statistics: ['mean'] },
        { match: 'room-1.*', statistics: ['min', 'max'] },
      ]),
    );
    expect(out.points[0]).toMatchObject({ min: 1, max: 3, mean: 2 });
    expect(out.points[0]!.last).toBeUndefined();
  });

  it('never lets identifier or personal points out, even under a catch-all rule', () => {
    const out = applyPolicy(summary([badge, room]), policy([{ match: '*', statistics: ['count', 'min', 'max', 'mean', 'last'] }]));
    expect(keysOf(out)).toEqual(['room-1.temperature']);
  });

  it('omits the values of a thresholded class below minCount, keeping its quality figures', () => {
    const rules = policy([{ match: '*', statistics: ['min', 'max', 'mean', 'last'] }], { occupancy: 5 });
    const two = point({ device: 'room-1', point: 'people', dataClass: 'occupancy', count: 30, min: 0, max: 2, mean: 1.5, last: 2 });
    const [out] = applyPolicy(summary([two]), rules).points;
    expect(out).toMatchObject({ device: 'room-1', point: 'people', count: 30, expected: 30, bad: { timeout: 2 } });
    for (const stat of VALUE_STATISTICS) expect(out![stat], stat).toBeUndefined();

    const busy = point({ device: 'room-1', point: 'people', dataClass: 'occupancy', min: 3, max: 12, mean: 7.25, last: 5 });
    expect(applyPolicy(summary([busy]), rules).points[0]).toMatchObject({ max: 12, mean: 7.25, last: 5 });
    expect(applyPolicy(summary([busy]), rules).points[0]!.min).toBeUndefined();
  });

  it('leaves classes without a threshold alone, whatever their values', () => {
    const rules = policy([{ match: '*', statistics: ['mean'] }], { occupancy: 5 });
    const cold = point({ device: 'room-1', point: 'temperature', dataClass: 'comfort', mean: 1 });
    expect(applyPolicy(summary([cold]), rules).points[0]!.mean).toBe(1);
  });

  it('sends nothing without rules', () => {
    expect(applyPolicy(summary([meter, room]), policy([])).points).toEqual([]);
  });

  it('never outputs a never-upstream class', () => {
    fc.assert(
      fc.property(summaryAndPolicyArb, ({ summary: s, policy: p }) => {
        for (const out of applyPolicy(s, p).points) expect(NEVER_UPSTREAM.has(out.dataClass)).toBe(false);
      }),
    );
  });

  it('outputs only statistics a matching rule allows, and keeps quality figures intact', () => {
    fc.assert(
      fc.property(summaryAndPolicyArb, ({ summary: s, policy: p }) => {
        for (const out of applyPolicy(s, p).points) {
          const key = pointKey(out.device, out.point);
          const allowed = new Set(p.allow.filter((r) => globToRegExp(r.match).test(key)).flatMap((r) => r.statistics));
          for (const stat of VALUE_STATISTICS) if (out[stat] !== undefined) expect(allowed.has(stat)).toBe(true);
          const original = s.points.find((q) => q.device === out.device && q.point === out.point)!;
          expect([out.count, out.expected, out.bad]).toEqual([original.count, original.expected, original.bad]);
        }
      }),
    );
  });

  it('never outputs a value below its class threshold, and keeps every allowed value at or above it', () => {
    fc.assert(
      fc.property(summaryAndPolicyArb, ({ summary: s, policy: p }) => {
        for (const out of applyPolicy(s, p).points) {
          const threshold = p.minCount[out.dataClass];
          const key = pointKey(out.device, out.point);
          const allowed = new Set(p.allow.filter((r) => globToRegExp(r.match).test(key)).flatMap((r) => r.statistics));
          const original = s.points.find((q) => q.device === out.device && q.point === out.point)!;
          for (const stat of VALUE_STATISTICS) {
            const value = out[stat];
            if (threshold !== undefined && value !== undefined) expect(typeof value === 'number' && value >= threshold).toBe(true);
            const before = original[stat];
            const shouldStay = allowed.has(stat) && before !== undefined && (threshold === undefined || (typeof before === 'number' && before >= threshold));
            expect(value, stat).toEqual(shouldStay ? before : undefined);
          }
        }
      }),
    );
  });

  it('keeps every point that is allowed and not never-upstream (thresholds remove values, not points)', () => {
    fc.assert(
      fc.property(summaryAndPolicyArb, ({ summary: s, policy: p }) => {
        const kept = new Set(keysOf(applyPolicy(s, p)));
        for (const q of s.points) {
          const key = pointKey(q.device, q.point);
          const eligible = !NEVER_UPSTREAM.has(q.dataClass) && p.allow.some((r) => globToRegExp(r.match).test(key));
          expect(kept.has(key)).toBe(eligible);
        }
      }),
    );
  });

  it('is idempotent and leaves its input untouched', () => {
    fc.assert(
      fc.property(summaryAndPolicyArb, ({ summary: s, policy: p }) => {
        const before = structuredClone(s);
        const once = applyPolicy(s, p);
        expect(applyPolicy(once, p)).toEqual(once);
        expect(s).toEqual(before);
      }),
    );
  });
});
