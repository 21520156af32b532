/**
 * Running statistics of one point in one window: O(1) state whatever the number of readings
 * (count, sum, min, max, last, delta, bad counts by reason — never a list of readings).
 */
import type { BadReason, PointInfo, PointSummary } from '../core/types.js';

export class PointAccumulator {
  private count = 0;
  private numericCount = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private last: number | string | undefined;
  private lastTs = -Infinity;
  private delta = 0;
  /** At most one key per BadReason, so bounded. */
  private readonly bad: Partial<Record<BadReason, number>> = {};

  /** A good value; text values only move `last` (and count). */
  addGood(ts: number, value: number | string): void {
    this.count += 1;
    if (typeof value === 'number') {
      this.numericCount += 1;
      this.sum += value;
      this.min = Math.min(this.min, value);
      this.max = Math.max(this.max, value);
    }
    // Latest sampling time wins; on a tie the later arrival wins.
    if (ts >= this.lastTs) {
      this.lastTs = ts;
      this.last = value;
    }
  }

  addBad(reason: BadReason): void {
    this.bad[reason] = (this.bad[reason] ?? 0) + 1;
  }

  /** Consumption attributed to this window (counters only; the caller decides what counts). */
  addConsumption(amount: number): void {
    this.delta += amount;
  }

  summarise(info: PointInfo, expected: number): PointSummary {
    const numeric = this.numericCount > 0;
    return {
      device: info.device,
      point: info.point,
      ...(info.unit !== undefined && { unit: info.unit }),
      dataClass: info.dataClass,
      measure: info.measure,
      count: this.count,
      expected,
      ...(numeric && { min: this.min, max: this.max, mean: this.sum / this.numericCount }),
      ...(this.last !== undefined && { last: this.last }),
      ...(numeric && info.measure === 'counter' && { delta: this.delta }),
      bad: { ...this.bad },
    };
  }
}
