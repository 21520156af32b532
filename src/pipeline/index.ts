export { Aggregator, MAX_OPEN_WINDOWS, summaryId, type AggregatorOptions, type AggregatorStats } from './aggregator.js';
export { checkRange } from './quality.js';
export { DAY_MS, MIN_WINDOW_MS, assertValidWindow, isValidWindow, windowEnd, windowStart } from './windows.js';
export { assertTimeZone, zoneOffset } from './zone-offset.js';
