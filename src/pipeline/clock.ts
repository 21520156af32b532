/**
 * Clock trust. A board without a real-time clock boots with a wrong wall clock until NTP sets it:
 * readings sampled before then carry wrong timestamps. ClockGuard holds them (bounded, in memory),
 * and when the clock becomes trusted re-stamps them from the monotonic clock, which the NTP step does
 * not move, then releases the ones that still have an open window. Rules: docs/data-quality.md.
 */
import { performance } from 'node:perf_hooks';
import type { Reading } from '../core/types.js';
import { windowStart } from './windows.js';

/**
 * A reading's age at admission, by the (wrong but ticking) wall clock, is trusted up to this much;
 * beyond it, the wall clock itself probably moved between sampling and admission.
 */
export const MAX_SAMPLE_AGE_MS = 60_000;

export interface ClockGuardOptions {
  /** Asked while the clock is not trusted yet; once it says yes, the guard stays trusted (latched). */
  readonly isTrusted: () => boolean;
  /** Readings held at most; at the bound the oldest held reading is discarded and counted. */
  readonly maxHeld: number;
  /** Milliseconds from a clock that never jumps (default: performance.now()). */
  readonly monotonicNow?: () => number;
  readonly wallNow?: () => number;
  /**
   * Earliest re-stamped time worth releasing, given the wall clock at trust; older readings are
   * discarded and counted. Default: everything is released. See releaseFromPreviousWindow().
   */
  readonly releaseFrom?: (wallAtTrust: number) => number;
}

export interface ClockGuardStats {
  readonly trusted: boolean;
  /** Readings waiting for a trusted clock now. */
  readonly held: number;
  /** Held readings re-stamped and released. */
  readonly restamped: number;
  /** Held readings discarded because maxHeld was reached (the oldest go first). */
  readonly discardedOverflow: number;
  /** Held readings discarded because their re-stamped time was before releaseFrom. */
  readonly discardedTooOld: number;
}

interface HeldReading {
  readonly reading: Reading;
  readonly monoAtSample: number;
}

export class ClockGuard {
  private held: HeldReading[] = [];
  private trustedNow = false;
  private counts = { restamped: 0, discardedOverflow: 0, discardedTooOld: 0 };
  private readonly monotonicNow: () => number;
  private readonly wallNow: () => number;

  constructor(private readonly opts: ClockGuardOptions) {
    this.monotonicNow = opts.monotonicNow ?? (() => performance.now());
    this.wallNow = opts.wallNow ?? Date.now;
  }

  get trusted(): boolean {
    return this.trustedNow;
  }

  /**
   * Readings to pass on now: with a trusted clock, any held readings just released followed by these;
   * otherwise nothing (these are held).
   */
  admit(readings: readonly Reading[]): Reading[] {
    const released = this.release();
    if (this.trustedNow) return released.length > 0 ? [...released, ...readings] : [...readings];
    for (const reading of readings) this.hold(reading);
    return [];
  }

  /**
   * Asks whether the clock is trusted; the first time it is, returns the held readings re-stamped
   * (oldest first), else nothing. Call it as time passes, so held readings do not wait for a new one.
   */
  release(): Reading[] {
    if (this.trustedNow || !this.opts.isTrusted()) return [];
    this.trustedNow = true;
    const wallAtTrust = this.wallNow();
    const monoAtTrust = this.monotonicNow();
    const from = this.opts.releaseFrom?.(wallAtTrust) ?? -Infinity;
    const released: Reading[] = [];
    for (const { reading, monoAtSample } of this.held) {
      const ts = Math.round(wallAtTrust - (monoAtTrust - monoAtSample));
      if (ts < from) this.counts.discardedTooOld += 1;
      else released.push({ ...reading, ts });
    }
    this.counts.restamped += released.length;
    this.held = [];
    return released.sort((a, b) => a.ts - b.ts);
  }

  stats(): ClockGuardStats {
    return { trusted: this.trustedNow, held: this.held.length, ...this.counts };
  }

  private hold(reading: Reading): void {
    if (this.opts.maxHeld <= 0) return void this.counts.discardedOverflow++;
    // Bound: at maxHeld the oldest held reading is discarded (counted), never the memory grown.
    if (this.held.length >= this.opts.maxHeld) {
      this.held.shift();
      this.counts.discardedOverflow += 1;
    }
    const age = this.wallNow() - reading.ts;
    const boundedAge = Number.isFinite(age) ? Math.min(Math.max(age, 0), MAX_SAMPLE_AGE_MS) : 0;
    this.held.push({ reading, monoAtSample: this.monotonicNow() - boundedAge });
  }
}

/**
 * The release rule the gateway uses: a held reading is released if, re-stamped, it falls in the
 * window containing the moment of trust or the one before, and not before the aggregator's closed
 * boundary. Older windows are over: their readings are discarded and counted.
 */
export function releaseFromPreviousWindow(
  windowMs: number,
  timeZone: string,
  acceptsFrom: () => number = () => -Infinity,
): (wallAtTrust: number) => number {
  return (wallAtTrust) => {
    const current = windowStart(wallAtTrust, windowMs, timeZone);
    return Math.max(acceptsFrom(), windowStart(current - 1, windowMs, timeZone));
  };
}
