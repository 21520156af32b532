import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAX_STALE_MARKS_PER_SWEEP, QualityChecker, checkRange, type PointQuality } from '../../src/pipeline/quality.js';
import { REANCHOR_AFTER } from '../../src/pipeline/point-checks.js';
import type { Reading } from '../../src/core/types.js';

const MIN = 60_000;
const T0 = Date.parse('2026-01-15T10:00:00Z');

const sensor = (settings: Omit<PointQuality, 'device' | 'point'> = {}): PointQuality => ({ device: 'room', point: 'temperature', ...settings });
const meter = (settings: Omit<PointQuality, 'device' | 'point' | 'measure'> = {}): PointQuality => ({
  device: 'meter', point: 'energy', measure: 'counter', ...settings,
});
const temp = (ts: number, value: number | null, quality: Reading['quality'] = 'good'): Reading => ({ device: 'room', point: 'temperature', ts, value, quality });
const energy = (ts: number, value: number): Reading => ({ device: 'meter', point: 'energy', ts, value, quality: 'good' });

/** Reasons given to a sequence of readings checked in order ('ok' for a reading left good). */
function verdicts(checker: QualityChecker, readings: readonly Reading[]): string[] {
  return readings.map((r) => {
    const checked = checker.check(r);
    return checked.quality === 'good' ? 'ok' : (checked.reason ?? checked.quality);
  });
}

describe('QualityChecker: range', () => {
  it('gives the same verdict as checkRange when range is the only check', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -100, max: 100 }), fc.double({ noNaN: true, min: -100, max: 100 }), fc.double({ noNaN: true }), (a, b, value) => {
        const range = [Math.min(a, b), Math.max(a, b)] as const;
        const checker = new QualityChecker([sensor({ range })]);
        expect(checker.check(temp(T0, value))).toEqual(checkRange(temp(T0, value), { range }));
      }),
    );
  });
});

describe('QualityChecker: rate of change', () => {
  it('never marks a signal of constant slope within the maximum rate as bad', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 1e4, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.array(fc.integer({ min: 1, max: 10 * MIN }), { minLength: 1, maxLength: 50 }),
        (maxRate, slopeShare, start, gaps) => {
          const slope = maxRate * slopeShare; // per minute, |slope| <= maxRate, the edge included
          const checker = new QualityChecker([sensor({ maxRatePerMinute: maxRate })]);
          let ts = T0;
          const readings = [temp(ts, start), ...gaps.map((gap) => temp((ts += gap), start + (slope * (ts - T0)) / MIN))];
          expect(verdicts(checker, readings).filter((v) => v !== 'ok')).toEqual([]);
        },
      ),
    );
  });

  it('marks a lone spike bad and keeps comparing with the last good reading', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 1.01, max: 1e6, noNaN: true }), fc.boolean(), (at, excess, up) => {
        // 1 per minute allowed, a reading every minute, steady at 20, one spike beyond the allowed change
        const checker = new QualityChecker([sensor({ maxRatePerMinute: 1 })]);
        const readings = Array.from({ length: 25 }, (_, i) => temp(T0 + i * MIN, i === at ? 20 + (up ? excess : -excess) : 20));
        const expected = readings.map((_, i) => (i === at ? 'rate' : 'ok'));
        expect(verdicts(checker, readings)).toEqual(expected);
      }),
    );
  });

  it(`accepts a genuine jump after ${REANCHOR_AFTER} readings that agree with each other`, () => {
    const checker = new QualityChecker([sensor({ maxRatePerMinute: 1 })]);
    // 1 per minute allowed, a reading every 10 s: steps of 0.1 or less agree with each other
    const readings = [20, 20, 45, 45.1, 45.05, 45.1, 45.15].map((v, i) => temp(T0 + i * 10_000, v));
    expect(verdicts(checker, readings)).toEqual(['ok', 'ok', 'rate', 'rate', 'ok', 'ok', 'ok']);
  });

  it('scattered implausible readings never become the reference', () => {
    const checker = new QualityChecker([sensor({ maxRatePerMinute: 1 })]);
    const readings = [20, 80, -40, 80, 20.1].map((v, i) => temp(T0 + i * 10_000, v));
    expect(verdicts(checker, readings)).toEqual(['ok', 'rate', 'rate', 'rate', 'ok']);
  });

  it('allows a larger change when more time has passed since the last good reading', () => {
    const checker = new QualityChecker([sensor({ maxRatePerMinute: 1 })]);
    expect(verdicts(checker, [temp(T0, 20), temp(T0 + MIN, 25), temp(T0 + 6 * MIN, 25)])).toEqual(['ok', 'rate', 'ok']);
  });

  it('does not compare the first reading after a gap longer than staleAfter with the old one', () => {
    const checker = new QualityChecker([sensor({ maxRatePerMinute: 0.1, staleAfterMs: 5 * MIN })]);
    const readings = [temp(T0, 20), temp(T0 + 5 * MIN, 21), temp(T0 + 10 * MIN + 1, 30), temp(T0 + 11 * MIN, 31)];
    // 20 -> 21 in 5 min is too fast; 30 follows a gap > 5 min after 20; 30 -> 31 in a minute is too fast
    expect(verdicts(checker, readings)).toEqual(['ok', 'rate', 'ok', 'rate']);
  });

  it('on a counter, checks consumption: a rollover within the rate passes, a drop is implausible', () => {
    const checker = new QualityChecker([meter({ maxRatePerMinute: 100, rolloverAt: 100_000 })]);
    const values = [99_950, 99_990, 30, 5, 80];
    // +40, +40 across the rollover, a drop (reset? glitch?), then +50 from 30 in 2 min
    expect(verdicts(checker, values.map((v, i) => energy(T0 + i * MIN, v)))).toEqual(['ok', 'ok', 'ok', 'rate', 'ok']);
  });

  it('on a counter, a one-reading glitch to 0 is bad, and a replaced meter is accepted after agreeing readings', () => {
    const glitch = new QualityChecker([meter({ maxRatePerMinute: 100 })]);
    expect(verdicts(glitch, [5000, 0, 5010].map((v, i) => energy(T0 + i * 10_000, v)))).toEqual(['ok', 'rate', 'ok']);
    const replaced = new QualityChecker([meter({ maxRatePerMinute: 100 })]);
    const values = [5000, 0, 1, 2, 3];
    expect(verdicts(replaced, values.map((v, i) => energy(T0 + i * 10_000, v)))).toEqual(['ok', 'rate', 'rate', 'ok', 'ok']);
  });
});

describe('QualityChecker: stuck value', () => {
  it('fires exactly at the Nth identical consecutive value, and on every identical one after', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 80 }), (n, values) => {
        const checker = new QualityChecker([sensor({ stuckAfter: n })]);
        const got = verdicts(checker, values.map((v, i) => temp(T0 + i * 1000, v)));
        // Reference: the length of the run of equal values ending at each reading.
        let run = 0;
        const expected = values.map((v, i) => {
          run = i > 0 && values[i - 1] === v ? run + 1 : 1;
          return run >= n ? 'stuck' : 'ok';
        });
        expect(got).toEqual(expected);
      }),
    );
  });

  it('a bad reading in between does not break the run; a range-bad one is not a sample', () => {
    const checker = new QualityChecker([sensor({ stuckAfter: 3, range: [-20, 60] })]);
    const readings = [temp(T0, 20), temp(T0 + 1000, null, 'bad'), temp(T0 + 2000, 99), temp(T0 + 3000, 20), temp(T0 + 4000, 20)];
    expect(verdicts(checker, readings)).toEqual(['ok', 'bad', 'range', 'ok', 'stuck']);
  });

  it('is refused for counters, and settings must make sense', () => {
    const refused: PointQuality[] = [
      meter({ stuckAfter: 10 }),
      sensor({ stuckAfter: 1 }),
      sensor({ stuckAfter: 2.5 }),
      sensor({ maxRatePerMinute: 0 }),
      sensor({ staleAfterMs: -1 }),
      sensor({ range: [10, 0] }),
      sensor({ rolloverAt: 1000 }),
      meter({ rolloverAt: Number.NaN }),
    ];
    for (const settings of refused) {
      expect(() => new QualityChecker([settings]), JSON.stringify(settings)).toThrow(expect.objectContaining({ code: 'E_QUALITY_CONFIG' }));
    }
    expect(() => new QualityChecker([sensor(), sensor()])).toThrow(expect.objectContaining({ code: 'E_QUALITY_CONFIG' }));
  });
});

describe('QualityChecker: order and pass-through', () => {
  it('range-checks an out-of-order reading only, without moving the stuck or rate state', () => {
    const checker = new QualityChecker([sensor({ maxRatePerMinute: 1, stuckAfter: 2, range: [-20, 60] })]);
    const readings = [temp(T0 + MIN, 20), temp(T0, 50), temp(T0 - 1, 99), temp(T0 + 2 * MIN, 20.5)];
    expect(verdicts(checker, readings)).toEqual(['ok', 'ok', 'range', 'ok']);
    expect(checker.stats().outOfOrder).toBe(1);
  });

  it('passes unknown points, text values and readings already bad unchanged', () => {
    const checker = new QualityChecker([sensor({ range: [0, 1], stuckAfter: 2, maxRatePerMinute: 1 })]);
    const unchanged: Reading[] = [
      { device: 'room', point: 'co2', ts: T0, value: 5000, quality: 'good' },
      { ...temp(T0, null), value: 'HC' },
      { ...temp(T0 + 1, null, 'bad'), reason: 'timeout' },
      { ...temp(T0 + 2, null, 'stale'), reason: 'stale' },
    ];
    for (const r of unchanged) expect(checker.check(r)).toBe(r);
    expect(checker.stats()).toMatchObject({ range: 0, stuck: 0, rate: 0 });
  });

  it('counts what it marked, by reason', () => {
    const checker = new QualityChecker([sensor({ range: [-20, 60], stuckAfter: 3, maxRatePerMinute: 1 })]);
    verdicts(checker, [20, 99, 20, 20, 40, 20.5].map((v, i) => temp(T0 + i * MIN, v)));
    expect(checker.stats()).toMatchObject({ range: 1, stuck: 1, rate: 1 });
  });
});

describe('QualityChecker: staleness', () => {
  const STALE = 2 * MIN;
  const marksOf = (readings: readonly Reading[]) => readings.map((r) => [r.ts - T0, r.quality, r.reason, r.value]);

  it('emits one stale mark per full staleAfter of silence, stamped at last reading + k × staleAfter', () => {
    const checker = new QualityChecker([sensor({ staleAfterMs: STALE })]);
    checker.check(temp(T0, 20));
    expect(checker.sweep(T0 + STALE - 1)).toEqual([]);
    expect(marksOf(checker.sweep(T0 + 5 * MIN))).toEqual([[STALE, 'stale', 'stale', null], [2 * STALE, 'stale', 'stale', null]]);
    expect(checker.sweep(T0 + 5 * MIN)).toEqual([]);
    expect(checker.stats().stale).toBe(2);
  });

  it('gives the same marks however often sweep() runs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 30 * MIN }), { maxLength: 30 }), fc.integer({ min: 0, max: 30 * MIN }), (sweeps, end) => {
        const once = new QualityChecker([sensor({ staleAfterMs: STALE })]);
        const often = new QualityChecker([sensor({ staleAfterMs: STALE })]);
        for (const c of [once, often]) c.check(temp(T0, 20));
        // As the gateway does, the marks go back through check() on their way to the aggregator.
        const swept = [...sweeps.filter((s) => s < end).sort((a, b) => a - b), end].flatMap((s) => often.sweep(T0 + s).map((m) => often.check(m)));
        expect(swept).toEqual(once.sweep(T0 + end));
      }),
    );
  });

  it('any fresh reading, even a bad one, ends the silence; a point never seen is armed at the first sweep', () => {
    const checker = new QualityChecker([sensor({ staleAfterMs: STALE })]);
    expect(checker.sweep(T0)).toEqual([]);
    expect(marksOf(checker.sweep(T0 + STALE))).toEqual([[STALE, 'stale', 'stale', null]]);
    checker.check({ ...temp(T0 + STALE + MIN, null, 'stale'), reason: 'stale' }); // old data is no sign of life
    expect(marksOf(checker.sweep(T0 + 2 * STALE))).toEqual([[2 * STALE, 'stale', 'stale', null]]);
    checker.check({ ...temp(T0 + 3 * MIN, null, 'bad'), reason: 'timeout' });
    expect(checker.sweep(T0 + 3 * MIN + STALE - 1)).toEqual([]);
    expect(marksOf(checker.sweep(T0 + 3 * MIN + STALE))).toEqual([[3 * MIN + STALE, 'stale', 'stale', null]]);
  });

  it(`emits at most ${MAX_STALE_MARKS_PER_SWEEP} marks per point and sweep, the latest ones, and counts the rest`, () => {
    const checker = new QualityChecker([sensor({ staleAfterMs: 1000 })]);
    checker.check(temp(T0, 20));
    const marks = checker.sweep(T0 + 1000 * 1000 + 500);
    expect(marks).toHaveLength(MAX_STALE_MARKS_PER_SWEEP);
    expect(marks.at(-1)!.ts).toBe(T0 + 1000 * 1000);
    expect(checker.stats().staleSkipped).toBe(1000 - MAX_STALE_MARKS_PER_SWEEP);
  });
});
