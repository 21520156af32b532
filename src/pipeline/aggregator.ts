/**
 * Aggregates readings into wall-clock windows (see windows.ts and README.md) and emits one
 * WindowSummary per window. Memory is bounded: at most MAX_OPEN_WINDOWS open windows, each holding
 * O(1) state per configured point, plus one previous counter reading per counter point.
 */
import { PasserelleError } from '../core/errors.js';
import { pointKey, type BadReason, type PointInfo, type Reading, type WindowSummary } from '../core/types.js';
import { counterStep } from './counter.js';
import { PointAccumulator } from './point-accumulator.js';
import { assertTimeZone } from './zone-offset.js';
import { assertValidWindow, windowEnd, windowStart } from './windows.js';

/** The current window, the next one, and one spare for readings that arrive before close() runs. */
export const MAX_OPEN_WINDOWS = 3;

export interface AggregatorOptions {
  readonly site: string;
  readonly gateway: string;
  readonly windowMs: number;
  readonly timeZone: string;
  readonly points: readonly PointInfo[];
  /** Readings expected per point in a full nominal window (e.g. window / poll interval); 0 when absent. */
  readonly expectedPerWindow?: (key: string) => number;
  /** Counters: the value at which the index reads 0 again (see counter.ts); undefined when it never wraps. */
  readonly rolloverAt?: (key: string) => number | undefined;
}

export interface AggregatorStats {
  readonly openWindows: number;
  readonly windowsClosed: number;
  /** Dropped: older than the last close(), whose window was already final. */
  readonly late: number;
  /** Dropped: window too far ahead of the last close(), or all open-window slots taken. */
  readonly ahead: number;
  /** Ignored: device.point not in the configured points. */
  readonly unknownPoints: number;
  /** Ignored: timestamp not a finite number. */
  readonly badTimestamps: number;
}

interface OpenWindow {
  readonly start: number;
  readonly end: number;
  /** Start of the window before this one: a counter reading there is "consecutive" with ours. */
  readonly previousStart: number;
  readonly points: Map<string, PointAccumulator>;
  accepted: number;
  latestTs: number;
}

interface CounterReading {
  readonly ts: number;
  readonly value: number;
}

/** Deterministic summary id: a resend carries the same id. A partial window also carries its end. */
export function summaryId(site: string, gateway: string, start: number, partialEnd?: number): string {
  return partialEnd === undefined ? `${site}:${gateway}:${start}` : `${site}:${gateway}:${start}:${partialEnd}`;
}

export class Aggregator {
  private readonly points: ReadonlyMap<string, PointInfo>;
  private readonly open: OpenWindow[] = []; // sorted by start, at most MAX_OPEN_WINDOWS
  private readonly previousCounter = new Map<string, CounterReading>(); // at most one per counter point
  /** Points marked untilSeen that have had a fresh reading (at most one entry per configured point). */
  private readonly seen = new Set<string>();
  /** Every window ending at or before this instant is final. */
  private closedBefore = -Infinity;
  /** Readings at or after this instant are too far ahead (known once close() has run). */
  private horizon = Infinity;
  /** The closedBefore the horizon was computed from. */
  private horizonFrom = NaN;
  /** Bounds of the window close() last saw `now` in: a window's bounds cost Intl calls, a tick reuses them. */
  private currentStart = NaN;
  private currentEnd = NaN;
  private counts = { windowsClosed: 0, late: 0, ahead: 0, unknownPoints: 0, badTimestamps: 0 };

  constructor(private readonly opts: AggregatorOptions) {
    assertValidWindow(opts.windowMs);
    assertTimeZone(opts.timeZone);
    const points = new Map<string, PointInfo>();
    for (const info of opts.points) {
      const key = pointKey(info.device, info.point);
      if (points.has(key)) throw new PasserelleError('E_POINT_DUPLICATE', `point ${key} is configured twice`);
      points.set(key, info);
    }
    this.points = points;
  }

  add(readings: readonly Reading[]): void {
    for (const reading of readings) this.addOne(reading);
  }

  /** Finalises every window whose end <= now, oldest first. Call it with `Date.now() - grace`. */
  close(now: number): WindowSummary[] {
    if (!(now >= this.currentStart && now < this.currentEnd)) {
      this.currentStart = windowStart(now, this.opts.windowMs, this.opts.timeZone);
      this.currentEnd = windowEnd(this.currentStart, this.opts.windowMs, this.opts.timeZone);
    }
    this.closedBefore = Math.max(this.closedBefore, this.currentStart);
    if (this.closedBefore !== this.horizonFrom) {
      this.horizon = this.endAfterWindows(this.closedBefore, MAX_OPEN_WINDOWS);
      this.horizonFrom = this.closedBefore;
    }
    const done: WindowSummary[] = [];
    while (this.open[0] && this.open[0].end <= now) done.push(this.summarise(this.open.shift()!));
    this.evictBeyondHorizon();
    return done;
  }

  /**
   * Shutdown: closes every window. Windows ending by `now` are complete; a window still running is
   * emitted as partial, with end = now (or just after its latest reading if later), expected counts
   * scaled to that covered part, and an id that carries the end. Readings before `now` are late afterwards.
   */
  flushAll(now: number = Date.now()): WindowSummary[] {
    const done = this.close(now);
    for (const window of this.open.splice(0)) {
      const coveredEnd = Math.min(window.end, Math.max(now, window.latestTs + 1));
      done.push(this.summarise(window, coveredEnd));
    }
    this.closedBefore = Math.max(this.closedBefore, now);
    return done;
  }

  /** Readings sampled before this instant are late (their window is final); -Infinity before the first close(). */
  acceptsFrom(): number {
    return this.closedBefore;
  }

  /**
   * When the window close() last saw `now` in ends: close() called with a `now` at or past it finalises
   * that window (NaN before the first close()). The gateway arms its close timer for this instant.
   */
  currentWindowEnd(): number {
    return this.currentEnd;
  }

  stats(): AggregatorStats {
    return { ...this.counts, openWindows: this.open.length };
  }

  private addOne(reading: Reading): void {
    const key = pointKey(reading.device, reading.point);
    const info = this.points.get(key);
    if (!info) return void this.counts.unknownPoints++;
    if (info.untilSeen && !this.seen.has(key)) {
      // A stale mark is no sign of life: a label this meter never sends stays out of the summaries.
      if (reading.quality === 'stale') return;
      this.seen.add(key);
    }
    if (!Number.isFinite(reading.ts)) return void this.counts.badTimestamps++;
    if (reading.ts < this.closedBefore) return void this.counts.late++;
    if (reading.ts >= this.horizon) return void this.counts.ahead++;
    const window = this.windowFor(reading.ts);
    if (!window) return void this.counts.ahead++;
    window.accepted += 1;
    window.latestTs = Math.max(window.latestTs, reading.ts);
    this.accumulate(window, key, info, reading);
  }

  private accumulate(window: OpenWindow, key: string, info: PointInfo, reading: Reading): void {
    let accumulator = window.points.get(key);
    if (!accumulator) {
      accumulator = new PointAccumulator();
      window.points.set(key, accumulator);
    }
    const reason = badReasonOf(reading);
    if (reason) return accumulator.addBad(reason);
    const value = reading.value as number | string; // badReasonOf rejected null and non-finite numbers
    accumulator.addGood(reading.ts, value);
    if (info.measure === 'counter' && typeof value === 'number') {
      this.addConsumption(window, key, accumulator, { ts: reading.ts, value });
    }
  }

  /**
   * Consumption = sum of the steps between consecutive good readings, the previous one in this window
   * or the one before (counterStep): an increase counts, a rollover counts what went up to rolloverAt
   * plus what came after, any other drop (reset) adds nothing and counting restarts from the lower
   * value. A reading older than the previous one is out of order and left out.
   */
  private addConsumption(window: OpenWindow, key: string, accumulator: PointAccumulator, current: CounterReading): void {
    const previous = this.previousCounter.get(key);
    if (previous && current.ts < previous.ts) return;
    if (previous && previous.ts >= window.previousStart) {
      accumulator.addConsumption(counterStep(previous.value, current.value, this.opts.rolloverAt?.(key)).amount);
    }
    this.previousCounter.set(key, current);
  }

  private windowFor(ts: number): OpenWindow | undefined {
    const existing = this.open.find((w) => w.start <= ts && ts < w.end);
    if (existing) return existing;
    // Bound: no free slot means the reading is dropped (counted as ahead), never an extra window.
    if (this.open.length >= MAX_OPEN_WINDOWS) return undefined;
    const { windowMs, timeZone } = this.opts;
    const start = windowStart(ts, windowMs, timeZone);
    const window: OpenWindow = {
      start,
      end: windowEnd(start, windowMs, timeZone),
      previousStart: windowStart(start - 1, windowMs, timeZone),
      points: new Map(),
      accepted: 0,
      latestTs: ts,
    };
    const index = this.open.findIndex((w) => w.start > start);
    this.open.splice(index === -1 ? this.open.length : index, 0, window);
    return window;
  }

  /** Windows opened before the first close() may lie beyond the horizon (a device clock far ahead). */
  private evictBeyondHorizon(): void {
    while (this.open.length > 0 && this.open[this.open.length - 1]!.start >= this.horizon) {
      const evicted = this.open.pop()!;
      this.counts.ahead += evicted.accepted;
      for (const [key, previous] of this.previousCounter) {
        if (previous.ts >= evicted.start) this.previousCounter.delete(key);
      }
    }
  }

  private endAfterWindows(start: number, windows: number): number {
    let end = start;
    for (let i = 0; i < windows; i++) end = windowEnd(end, this.opts.windowMs, this.opts.timeZone);
    return end;
  }

  /** coveredEnd < window.end marks a partial window (shutdown); expected counts scale to what was covered. */
  private summarise(window: OpenWindow, coveredEnd: number = window.end): WindowSummary {
    this.counts.windowsClosed += 1;
    const { site, gateway, windowMs, expectedPerWindow } = this.opts;
    const partial = coveredEnd < window.end;
    const share = (coveredEnd - window.start) / windowMs;
    const reported = [...this.points].filter(([key, info]) => !info.untilSeen || this.seen.has(key));
    const points = reported.map(([key, info]) => {
      const expected = Math.round((expectedPerWindow?.(key) ?? 0) * share);
      return (window.points.get(key) ?? new PointAccumulator()).summarise(info, expected);
    });
    return {
      id: summaryId(site, gateway, window.start, partial ? coveredEnd : undefined),
      site,
      gateway,
      start: window.start,
      end: coveredEnd,
      points,
    };
  }
}

/** Why a reading cannot enter the statistics, or undefined for a usable good reading. */
function badReasonOf(reading: Reading): BadReason | undefined {
  if (reading.quality === 'stale') return reading.reason ?? 'stale';
  // A bad reading without a reason: the driver could not produce a value, the closest stable reason.
  if (reading.quality === 'bad') return reading.reason ?? 'decode';
  const { value } = reading;
  if (value === null || (typeof value === 'number' && !Number.isFinite(value))) return 'decode';
  return undefined;
}
