/**
 * Reading quality checks, per point, from the profile and the site config: physical range, stuck
 * value, rate of change, staleness. The rules, for the data officer: docs/data-quality.md.
 */
import { PasserelleError } from '../core/errors.js';
import { pointKey, type Measure, type PointInfo, type Reading } from '../core/types.js';
import { RateCheck, StaleClock, StuckCheck } from './point-checks.js';

/** Quality settings of one point, merged from its profile and the device's overrides in the config. */
export interface PointQuality {
  readonly device: string;
  readonly point: string;
  readonly measure?: Measure;
  /** Physical range [min, max], bounds valid. */
  readonly range?: readonly [number, number];
  /** Largest plausible change per minute, in the point's unit; for a counter, consumption per minute. */
  readonly maxRatePerMinute?: number;
  /** This many identical consecutive values make the point stuck (never for counters). At least 2. */
  readonly stuckAfter?: number;
  /** No reading at all for this long makes the point stale. */
  readonly staleAfterMs?: number;
  /** Silence counts only after a first reading (a point the device may never send, see PointInfo.untilSeen). */
  readonly staleOnceSeen?: boolean;
  /** Counters: the value at which the index reads 0 again (see counter.ts). */
  readonly rolloverAt?: number;
}

export interface QualityStats {
  readonly range: number;
  readonly stuck: number;
  readonly rate: number;
  readonly stale: number;
  /** Stale marks not emitted because more than MAX_STALE_MARKS_PER_SWEEP were due at once. */
  readonly staleSkipped: number;
  /** Readings not older than the previous one of their point: range-checked only. */
  readonly outOfOrder: number;
}

/** Per point and per sweep; older marks would fall in windows already closed. */
export const MAX_STALE_MARKS_PER_SWEEP = 64;

interface PointState {
  readonly quality: PointQuality;
  readonly stuck?: StuckCheck;
  readonly rate?: RateCheck;
  readonly stale?: StaleClock;
  /** Latest ts of a numeric reading that went through the consecutive checks (stuck, rate). */
  latestTs: number;
}

/**
 * A good numeric reading outside info.range [min, max] (bounds included as valid) becomes bad with
 * reason `range`; its value becomes null, as for every bad reading. Anything else passes unchanged.
 * NaN is outside every range.
 */
export function checkRange(reading: Reading, info: Pick<PointInfo, 'range'>): Reading {
  if (reading.quality !== 'good' || typeof reading.value !== 'number' || !info.range) return reading;
  const [min, max] = info.range;
  if (reading.value >= min && reading.value <= max) return reading;
  return markBad(reading, 'range');
}

/**
 * Runs range, stuck and rate checks, in that order, on each good numeric reading of a configured point;
 * the first that fails gives the reason. sweep(now) reports silent points. Readings of points not
 * configured pass unchanged. State: O(1) per configured point.
 */
export class QualityChecker {
  private readonly points = new Map<string, PointState>();
  private counts = { range: 0, stuck: 0, rate: 0, stale: 0, staleSkipped: 0, outOfOrder: 0 };

  constructor(points: readonly PointQuality[]) {
    for (const quality of points) {
      const key = pointKey(quality.device, quality.point);
      assertValidQuality(key, quality);
      if (this.points.has(key)) throw new PasserelleError('E_QUALITY_CONFIG', `quality settings for ${key} are given twice`);
      this.points.set(key, stateFor(quality));
    }
  }

  check(reading: Reading): Reading {
    const state = this.points.get(pointKey(reading.device, reading.point));
    if (!state) return reading;
    // Any fresh reading, good or bad, is a sign of life; a stale one (e.g. our own marks) is not.
    if (reading.quality !== 'stale') state.stale?.seen(reading.ts);
    const checked = this.checkValue(reading, state);
    // A new object means a check failed here (markBad); a reading that arrived bad is not ours to count.
    if (checked !== reading) this.counts[checked.reason as BadByCheck] += 1;
    return checked;
  }

  /**
   * Stale marks (quality and reason `stale`, value null) for points silent for staleAfter, oldest
   * first; feed them to the aggregator like readings. Call it as time advances, with a trusted clock.
   */
  sweep(now: number): Reading[] {
    const marks: Reading[] = [];
    for (const { quality, stale } of this.points.values()) {
      if (!stale) continue;
      const due = stale.due(now, MAX_STALE_MARKS_PER_SWEEP);
      this.counts.staleSkipped += due.skipped;
      for (const ts of due.marks) {
        marks.push({ device: quality.device, point: quality.point, ts, value: null, quality: 'stale', reason: 'stale' });
      }
    }
    this.counts.stale += marks.length;
    return marks.sort((a, b) => a.ts - b.ts);
  }

  stats(): QualityStats {
    return { ...this.counts };
  }

  private checkValue(reading: Reading, state: PointState): Reading {
    const ranged = checkRange(reading, state.quality);
    if (ranged.quality !== 'good' || typeof ranged.value !== 'number' || !Number.isFinite(ranged.value)) return ranged;
    if (!state.stuck && !state.rate) return ranged;
    // Only consecutive readings are compared: an older one (out of order) is range-checked only.
    if (ranged.ts <= state.latestTs) {
      this.counts.outOfOrder += 1;
      return ranged;
    }
    state.latestTs = ranged.ts;
    if (state.stuck?.isStuck(ranged.value)) return markBad(ranged, 'stuck');
    if (state.rate && !state.rate.accept({ ts: ranged.ts, value: ranged.value })) return markBad(ranged, 'rate');
    return ranged;
  }
}

type BadByCheck = 'range' | 'stuck' | 'rate';

function markBad(reading: Reading, reason: BadByCheck): Reading {
  return { ...reading, value: null, quality: 'bad', reason };
}

function stateFor(quality: PointQuality): PointState {
  const measure = quality.measure ?? 'gauge';
  return {
    quality,
    ...(quality.stuckAfter !== undefined && { stuck: new StuckCheck(quality.stuckAfter) }),
    ...(quality.maxRatePerMinute !== undefined && {
      rate: new RateCheck(quality.maxRatePerMinute, measure, quality.rolloverAt, quality.staleAfterMs ?? Infinity),
    }),
    ...(quality.staleAfterMs !== undefined && { stale: new StaleClock(quality.staleAfterMs, quality.staleOnceSeen === true) }),
    latestTs: -Infinity,
  };
}

function assertValidQuality(key: string, q: PointQuality): void {
  const fail = (message: string): never => {
    throw new PasserelleError('E_QUALITY_CONFIG', `${key}: ${message}`);
  };
  const positive = (value: number | undefined): boolean => value === undefined || (Number.isFinite(value) && value > 0);
  if (q.range && !(q.range[0] <= q.range[1])) fail(`range [${q.range.join(', ')}] must be [min, max] with min <= max`);
  if (!positive(q.maxRatePerMinute)) fail('maxRatePerMinute must be a positive number');
  if (!positive(q.staleAfterMs)) fail('staleAfter must be a positive duration');
  if (!positive(q.rolloverAt)) fail('rolloverAt must be a positive number');
  if (q.stuckAfter !== undefined && !(Number.isInteger(q.stuckAfter) && q.stuckAfter >= 2)) {
    fail('stuckAfter must be a whole number of readings, at least 2');
  }
  if (q.measure === 'counter' && q.stuckAfter !== undefined) {
    fail('stuckAfter does not apply to a counter (an index legitimately stays still when nothing is consumed)');
  }
  if (q.measure !== 'counter' && q.rolloverAt !== undefined) fail('rolloverAt applies to counters only');
}
