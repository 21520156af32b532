/**
 * The per-point state of the quality checks, each O(1) whatever the number of readings.
 * The rules are written in docs/data-quality.md; QualityChecker (quality.ts) runs them in order.
 */
import type { Measure } from '../core/types.js';
import { counterStep } from './counter.js';

interface Sample {
  readonly ts: number;
  readonly value: number;
}

/** Consecutive readings consistent with each other, but not with the last good one, that make a new level. */
export const REANCHOR_AFTER = 3;

/** Rounding tolerance: a signal exactly at the maximum rate must pass whatever the magnitude of its values. */
const RELATIVE_TOLERANCE = 8 * Number.EPSILON;

/**
 * Rate of change against the last good reading. A reading that moved faster than maxPerMinute is
 * bad, and the reference stays where it was, so a single spike never moves it. Two ways out of a
 * genuine jump: the allowed change grows with the time since the reference, and REANCHOR_AFTER
 * consecutive rejected readings that agree with each other become the new reference. After a gap
 * longer than gapMs (staleAfter), the first reading is not compared with the old one.
 */
export class RateCheck {
  private reference?: Sample;
  private candidate?: Sample;
  private agreeing = 0;

  constructor(
    private readonly maxPerMinute: number,
    private readonly measure: Measure,
    private readonly rolloverAt: number | undefined,
    private readonly gapMs: number,
  ) {}

  /** True when the sample is plausible. Callers pass samples in time order. */
  accept(sample: Sample): boolean {
    const reference = this.reference;
    if (!reference || sample.ts - reference.ts > this.gapMs || this.plausible(reference, sample)) {
      this.anchor(sample);
      return true;
    }
    this.agreeing = this.candidate && this.plausible(this.candidate, sample) ? this.agreeing + 1 : 1;
    this.candidate = sample;
    if (this.agreeing < REANCHOR_AFTER) return false;
    this.anchor(sample);
    return true;
  }

  private anchor(sample: Sample): void {
    this.reference = sample;
    this.candidate = undefined;
    this.agreeing = 0;
  }

  private plausible(from: Sample, to: Sample): boolean {
    const minutes = (to.ts - from.ts) / 60_000;
    const change = this.change(from.value, to.value);
    if (minutes <= 0) return change === 0;
    const allowed = this.maxPerMinute * minutes;
    const magnitude = Math.max(Math.abs(from.value), Math.abs(to.value), allowed);
    return change <= allowed + RELATIVE_TOLERANCE * magnitude;
  }

  /** Gauges: the absolute change. Counters: the consumption; a drop that is no rollover is implausible. */
  private change(from: number, to: number): number {
    if (this.measure === 'gauge') return Math.abs(to - from);
    const step = counterStep(from, to, this.rolloverAt);
    return step.kind === 'reset' ? Infinity : step.amount;
  }
}

/** The same value `after` times in a row: that reading and the following identical ones are stuck. */
export class StuckCheck {
  private value?: number;
  private run = 0;

  constructor(private readonly after: number) {}

  isStuck(value: number): boolean {
    if (value === this.value) this.run += 1;
    else {
      this.value = value;
      this.run = 1;
    }
    return this.run >= this.after;
  }
}

/**
 * Silence of one point. One stale mark per full `afterMs` without any reading (good or bad), stamped
 * at lastSeen + k × afterMs, so the number of marks does not depend on how often sweep() runs.
 */
export class StaleClock {
  private lastSeen?: number;
  private marked = 0;

  /** `onceSeen`: a point never seen is never stale (it may not exist on this device). */
  constructor(
    private readonly afterMs: number,
    private readonly onceSeen = false,
  ) {}

  seen(ts: number): void {
    if (this.lastSeen !== undefined && ts <= this.lastSeen) return;
    this.lastSeen = ts;
    this.marked = 0;
  }

  /**
   * Timestamps of the marks due by `now`, oldest first, at most `max`: the older ones are skipped (and
   * counted) because their windows are closed by then. A point never seen is armed at its first sweep.
   */
  due(now: number, max: number): { marks: number[]; skipped: number } {
    if (this.lastSeen === undefined) {
      if (this.onceSeen) return { marks: [], skipped: 0 };
      this.lastSeen = now;
      return { marks: [], skipped: 0 };
    }
    const due = Math.floor((now - this.lastSeen) / this.afterMs);
    if (due <= this.marked) return { marks: [], skipped: 0 };
    const first = Math.max(this.marked + 1, due - max + 1);
    const skipped = first - this.marked - 1;
    const marks: number[] = [];
    for (let k = first; k <= due; k++) marks.push(this.lastSeen + k * this.afterMs);
    this.marked = due;
    return { marks, skipped };
  }
}
