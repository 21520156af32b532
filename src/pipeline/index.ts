export { Aggregator, MAX_OPEN_WINDOWS, summaryId, type AggregatorOptions, type AggregatorStats } from './aggregator.js';
export { ClockGuard, MAX_SAMPLE_AGE_MS, releaseFromPreviousWindow, type ClockGuardOptions, type ClockGuardStats } from './clock.js';
export {
  CLOCK_NOT_BEFORE,
  TIMESYNC_FLAG,
  TRUST_RECHECK_MS,
  defaultClockTrust,
  timedatectlSynchronized,
  type ClockTrustMode,
  type ClockTrustOptions,
} from './clock-trust.js';
export { ROLLOVER_MARGIN, counterStep, type CounterStep } from './counter.js';
export { REANCHOR_AFTER } from './point-checks.js';
export { MAX_STALE_MARKS_PER_SWEEP, QualityChecker, checkRange, type PointQuality, type QualityStats } from './quality.js';
export { DAY_MS, MIN_WINDOW_MS, assertValidWindow, isValidWindow, windowEnd, windowStart } from './windows.js';
export { assertTimeZone, zoneOffset } from './zone-offset.js';
