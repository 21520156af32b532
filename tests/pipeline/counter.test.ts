import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { ROLLOVER_MARGIN, counterStep } from '../../src/pipeline/counter.js';
import type { PointInfo, Reading, WindowSummary } from '../../src/core/types.js';

const W = 15 * 60_000;
const T0 = Date.parse('2026-01-15T10:00:00Z');
const TIC_INDEX = 1e9; // 9 digits: 999 999 999 Wh, then 0

const ENERGY: PointInfo = { device: 'meter', point: 'energy', unit: 'Wh', dataClass: 'energy', measure: 'counter' };
const energy = (ts: number, value: number): Reading => ({ device: 'meter', point: 'energy', ts, value, quality: 'good' });

function aggregator(rolloverAt?: number): Aggregator {
  return new Aggregator({ site: 's', gateway: 'g', windowMs: W, timeZone: 'UTC', points: [ENERGY], rolloverAt: () => rolloverAt });
}

const deltaOf = (s: WindowSummary): number => s.points[0]!.delta ?? 0;

/** Feeds readings as the gateway would (closing windows as time advances) and returns every summary. */
function run(agg: Aggregator, readings: readonly Reading[]): WindowSummary[] {
  const summaries: WindowSummary[] = [];
  for (const r of readings) {
    summaries.push(...agg.close(r.ts));
    agg.add([r]);
  }
  return [...summaries, ...agg.flushAll(readings.at(-1)!.ts + W)];
}

describe('counterStep', () => {
  it('an increase is the difference', () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(), (a, b) => {
        expect(counterStep(Math.min(a, b), Math.max(a, b), TIC_INDEX)).toEqual({ kind: 'increase', amount: Math.abs(a - b) });
      }),
    );
  });

  it('a drop from the top tenth to the bottom tenth is a rollover; any other drop is a reset', () => {
    const margin = TIC_INDEX * ROLLOVER_MARGIN;
    expect(counterStep(999_999_990, 5, TIC_INDEX)).toEqual({ kind: 'rollover', amount: 15 });
    expect(counterStep(TIC_INDEX - margin, margin - 1, TIC_INDEX)).toEqual({ kind: 'rollover', amount: 2 * margin - 1 });
    expect(counterStep(TIC_INDEX - margin - 1, 0, TIC_INDEX).kind).toBe('reset'); // not near the top
    expect(counterStep(999_999_990, margin, TIC_INDEX).kind).toBe('reset'); // did not land near 0
    expect(counterStep(999_999_990, 5).kind).toBe('reset'); // no rollover declared
    expect(counterStep(999_999_990, 5).amount).toBe(0);
  });
});

describe('Aggregator: counter rollover and reset', () => {
  it('the sum of window deltas equals the true consumption of a counter that rolls over', () => {
    const modulus = 100_000;
    const stepArb = fc.record({
      gap: fc.integer({ min: 1000, max: W }), // consecutive readings always in the same or adjacent windows
      consumed: fc.integer({ min: 0, max: modulus * ROLLOVER_MARGIN - 1 }),
    });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: modulus - 1 }), fc.array(stepArb, { minLength: 1, maxLength: 80 }), (start, steps) => {
        let ts = T0;
        let index = start;
        let trueConsumption = 0;
        const readings = [energy(ts, index)];
        for (const { gap, consumed } of steps) {
          ts += gap;
          index = (index + consumed) % modulus;
          trueConsumption += consumed;
          readings.push(energy(ts, index));
        }
        const total = run(aggregator(modulus), readings).reduce((sum, s) => sum + deltaOf(s), 0);
        expect(total).toBe(trueConsumption);
      }),
    );
  });

  it('a rollover across a window boundary goes to the later window', () => {
    const [first, second] = run(aggregator(TIC_INDEX), [energy(T0 + W - 1000, 999_999_900), energy(T0 + W + 1000, 50)]);
    expect([deltaOf(first!), deltaOf(second!)]).toEqual([0, 150]);
  });

  it('a reset adds nothing and counting resumes from the new value, rollover declared or not', () => {
    for (const rolloverAt of [undefined, TIC_INDEX]) {
      const [summary] = run(aggregator(rolloverAt), [5000, 5100, 0, 40].map((v, i) => energy(T0 + i * 10_000, v)));
      expect(deltaOf(summary!)).toBe(100 + 40);
    }
  });

  it('without a declared rollover, a wrap counts only the increases on each side of it', () => {
    const [summary] = run(aggregator(), [999_999_990, 999_999_999, 10, 25].map((v, i) => energy(T0 + i * 10_000, v)));
    expect(deltaOf(summary!)).toBe(9 + 15);
  });
});
