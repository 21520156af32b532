/**
 * Wall-clock windows in the site's time zone.
 *
 * A window is identified by its local index floor(localTime / windowMs), where localTime is the instant
 * plus the zone offset at that instant. A window boundary is an instant where the local clock reads a
 * multiple of windowMs, or where a daylight-saving jump carries the local clock forward over one. So a
 * 15-minute window starts at local :00, :15, ... (also in +05:30 or +05:45 zones), a day window at
 * local midnight (23 or 25 h long on DST days), and a 1-hour window that the spring jump skips simply
 * does not exist. When the clock goes back, the repeated local hour forms its own windows.
 *
 * Assumption, true of every zone in use today: the offset changes at most once within one window
 * (windows are at most a day long). The transition instant is found by bisection, only for windows that
 * contain one, so the common path is two Intl calls.
 */
import { PasserelleError } from '../core/errors.js';
import { DAY_MS, formatDuration, isValidWindow } from '../core/duration.js';
import { zoneOffset } from './zone-offset.js';

export { DAY_MS, isValidWindow };
/** Sub-second windows make no sense for polled sensors and would make summaries explode. */
export const MIN_WINDOW_MS = 1000;

export function assertValidWindow(ms: number): void {
  if (!isValidWindow(ms)) {
    const shown = Number.isFinite(ms) ? formatDuration(ms) : String(ms);
    throw new PasserelleError(
      'E_WINDOW',
      `window ${shown} must divide a day evenly (e.g. 1m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d)`,
    );
  }
}

/** Start of the window containing ts (ms since epoch). */
export function windowStart(ts: number, windowMs: number, timeZone: string): number {
  assertValidWindow(windowMs);
  const offsetNow = zoneOffset(ts, timeZone);
  const candidate = floorTo(ts + offsetNow, windowMs) - offsetNow;
  const offsetThen = zoneOffset(candidate, timeZone);
  if (offsetThen === offsetNow) return candidate;
  // The offset changed in (candidate, ts]: the window starts at the change or earlier, under the old offset.
  const change = offsetChange(candidate, ts, offsetNow, timeZone);
  if (isBoundaryAtChange(change, offsetThen, offsetNow, windowMs)) return change;
  return floorTo(change - 1 + offsetThen, windowMs) - offsetThen;
}

/** End (exclusive) of the window containing start; for a window start, the next window's start. */
export function windowEnd(start: number, windowMs: number, timeZone: string): number {
  assertValidWindow(windowMs);
  const offsetNow = zoneOffset(start, timeZone);
  const candidate = floorTo(start + offsetNow, windowMs) + windowMs - offsetNow;
  const offsetThen = zoneOffset(candidate, timeZone);
  if (offsetThen === offsetNow) return candidate;
  // The offset changed in (start, candidate]: the window ends at the change or later, under the new offset.
  const change = offsetChange(start, candidate, offsetThen, timeZone);
  if (isBoundaryAtChange(change, offsetNow, offsetThen, windowMs)) return change;
  return floorTo(change + offsetThen, windowMs) + windowMs - offsetThen;
}

function floorTo(value: number, step: number): number {
  return Math.floor(value / step) * step;
}

/**
 * At an offset change the local clock jumps from (change - 1 + before) to (change + after). It is a
 * boundary if it lands on a multiple of the window, or if it jumps forward over one.
 */
function isBoundaryAtChange(change: number, before: number, after: number, windowMs: number): boolean {
  const localBefore = change - 1 + before;
  const localAfter = change + after;
  return localAfter % windowMs === 0 || Math.floor(localAfter / windowMs) > Math.floor(localBefore / windowMs);
}

/**
 * First instant in (from, to] whose offset is `offsetAtTo`, given that `from` has another offset.
 * Offsets only change on whole seconds (see zone-offset.ts), so the search runs over seconds.
 */
function offsetChange(from: number, to: number, offsetAtTo: number, timeZone: string): number {
  let low = Math.floor(from / 1000);
  let high = Math.floor(to / 1000);
  while (high - low > 1) {
    const middle = low + Math.floor((high - low) / 2);
    if (zoneOffset(middle * 1000, timeZone) === offsetAtTo) high = middle;
    else low = middle;
  }
  return high * 1000;
}
