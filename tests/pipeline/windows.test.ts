import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isValidWindow, windowEnd, windowStart } from '../../src/pipeline/windows.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const utc = (iso: string): number => Date.parse(iso);
const iso = (ts: number): string => new Date(ts).toISOString();

/** [start, end) of the window containing ts, as ISO strings. */
function bounds(ts: number, windowMs: number, zone: string): [string, string] {
  const start = windowStart(ts, windowMs, zone);
  return [iso(start), iso(windowEnd(start, windowMs, zone))];
}

describe('isValidWindow', () => {
  it('accepts lengths that divide a day, from one second to one day', () => {
    for (const ms of [1000, MIN, 5 * MIN, 15 * MIN, 30 * MIN, H, 2 * H, 3 * H, 8 * H, 12 * H, D]) {
      expect(isValidWindow(ms), String(ms)).toBe(true);
    }
  });
  it('rejects lengths that do not divide a day, exceed it, or are not whole ms', () => {
    for (const ms of [0, -MIN, 999, 7 * MIN, 7 * H, 2 * D, 1.5, Number.NaN, Infinity]) {
      expect(isValidWindow(ms), String(ms)).toBe(false);
    }
  });
  it('windowStart refuses an invalid window and an unknown zone with stable codes', () => {
    expect(() => windowStart(0, 7 * MIN, 'UTC')).toThrow(expect.objectContaining({ code: 'E_WINDOW' }));
    expect(() => windowStart(0, MIN, 'Europe/Lutece')).toThrow(expect.objectContaining({ code: 'E_TIMEZONE' }));
  });
});

/** Window containing the instant, to the minute, for readable examples. */
function at(instant: string, windowMs: number, zone: string): [string, string] {
  const exact = bounds(utc(instant), windowMs, zone);
  for (const edge of exact) expect(edge.endsWith(':00.000Z'), edge).toBe(true);
  return [exact[0].slice(0, 16) + 'Z', exact[1].slice(0, 16) + 'Z'];
}

describe('window alignment, examples', () => {
  it('UTC: plain floor arithmetic', () => {
    expect(at('2026-01-15T10:07:30Z', 15 * MIN, 'UTC')).toEqual(['2026-01-15T10:00Z', '2026-01-15T10:15Z']);
    expect(at('2026-01-15T10:07:30Z', D, 'UTC')).toEqual(['2026-01-15T00:00Z', '2026-01-16T00:00Z']);
  });

  it('Europe/Paris, ordinary winter and summer days: local midnight and local hours', () => {
    expect(at('2026-01-15T10:07Z', D, 'Europe/Paris')).toEqual(['2026-01-14T23:00Z', '2026-01-15T23:00Z']);
    expect(at('2026-07-01T10:07Z', D, 'Europe/Paris')).toEqual(['2026-06-30T22:00Z', '2026-07-01T22:00Z']);
    // 10:07Z = 12:07 CEST, in the local 12:00-15:00 window
    expect(at('2026-07-01T10:07Z', 3 * H, 'Europe/Paris')).toEqual(['2026-07-01T10:00Z', '2026-07-01T13:00Z']);
  });

  it('Europe/Paris, 2026-03-29 (clocks go forward at 02:00): a 23 h day, no 02:00 hour', () => {
    expect(at('2026-03-29T10:00Z', D, 'Europe/Paris')).toEqual(['2026-03-28T23:00Z', '2026-03-29T22:00Z']);
    // 01:xx CET, then 03:xx CEST directly
    expect(at('2026-03-29T00:30Z', H, 'Europe/Paris')).toEqual(['2026-03-29T00:00Z', '2026-03-29T01:00Z']);
    expect(at('2026-03-29T01:30Z', H, 'Europe/Paris')).toEqual(['2026-03-29T01:00Z', '2026-03-29T02:00Z']);
    expect(at('2026-03-29T00:50Z', 15 * MIN, 'Europe/Paris')).toEqual(['2026-03-29T00:45Z', '2026-03-29T01:00Z']);
    // 2 h windows 00-02 and 02-04 local: the jump crosses 02:00, so the second one is only an hour long
    expect(at('2026-03-29T00:30Z', 2 * H, 'Europe/Paris')).toEqual(['2026-03-28T23:00Z', '2026-03-29T01:00Z']);
    expect(at('2026-03-29T01:30Z', 2 * H, 'Europe/Paris')).toEqual(['2026-03-29T01:00Z', '2026-03-29T02:00Z']);
  });

  it('Europe/Paris, 2026-10-25 (clocks go back at 03:00): a 25 h day, the repeated hour as its own windows', () => {
    expect(at('2026-10-25T10:00Z', D, 'Europe/Paris')).toEqual(['2026-10-24T22:00Z', '2026-10-25T23:00Z']);
    expect(at('2026-10-25T00:30Z', H, 'Europe/Paris')).toEqual(['2026-10-25T00:00Z', '2026-10-25T01:00Z']);
    expect(at('2026-10-25T01:30Z', H, 'Europe/Paris')).toEqual(['2026-10-25T01:00Z', '2026-10-25T02:00Z']);
    expect(at('2026-10-25T00:55Z', 15 * MIN, 'Europe/Paris')).toEqual(['2026-10-25T00:45Z', '2026-10-25T01:00Z']);
    expect(at('2026-10-25T01:05Z', 15 * MIN, 'Europe/Paris')).toEqual(['2026-10-25T01:00Z', '2026-10-25T01:15Z']);
  });

  it('Asia/Kolkata (+05:30): 15 min and 1 h windows follow the local hour, not the UTC hour', () => {
    // 10:07Z = 15:37 IST
    expect(at('2026-01-15T10:07Z', 15 * MIN, 'Asia/Kolkata')).toEqual(['2026-01-15T10:00Z', '2026-01-15T10:15Z']);
    expect(at('2026-01-15T10:07Z', H, 'Asia/Kolkata')).toEqual(['2026-01-15T09:30Z', '2026-01-15T10:30Z']);
    expect(at('2026-01-15T10:07Z', D, 'Asia/Kolkata')).toEqual(['2026-01-14T18:30Z', '2026-01-15T18:30Z']);
  });

  it('Asia/Kathmandu (+05:45): 30 min windows start at local :00 and :30', () => {
    // 10:07Z = 15:52 NPT -> 15:30 NPT = 09:45Z
    expect(at('2026-01-15T10:07Z', 30 * MIN, 'Asia/Kathmandu')).toEqual(['2026-01-15T09:45Z', '2026-01-15T10:15Z']);
  });
});

// ---- Reference: scan a 5-minute grid with an independently computed local time ----

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();
/** Local time via the "GMT+05:30" offset name: a different Intl path from the code under test. */
function referenceLocal(ts: number, zone: string): number {
  let f = offsetFormatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    offsetFormatters.set(zone, f);
  }
  const name = f.formatToParts(ts).find((p) => p.type === 'timeZoneName')!.value;
  const m = /^GMT(?:([+-])(\d{2}):(\d{2}))?$/.exec(name);
  if (!m) throw new Error(`unexpected offset name ${name}`);
  const offset = m[1] ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * H + Number(m[3]) * MIN) : 0;
  return ts + offset;
}

/**
 * Reference boundaries in [from, to], scanned on a 5-minute grid: in the zones below every offset is a
 * multiple of 15 min and every change falls on the grid, so with 15/20/30-min multiples as windows every
 * boundary does too. An instant m is a boundary if its local time is a multiple of w, or the local clock
 * crossed one since the previous grid point.
 */
const GRID = 5 * MIN;
function referenceBoundaries(from: number, to: number, windows: readonly number[], zone: string): Map<number, number[]> {
  const found = new Map<number, number[]>(windows.map((w) => [w, []]));
  let previousLocal = referenceLocal(from - GRID, zone);
  for (let m = from; m <= to; m += GRID) {
    const local = referenceLocal(m, zone);
    for (const w of windows) {
      if (local % w === 0 || Math.floor(local / w) > Math.floor(previousLocal / w)) found.get(w)!.push(m);
    }
    previousLocal = local;
  }
  return found;
}

/** Each zone with the 2026 days its offset changes (Lord Howe shifts by 30 minutes); fixed zones on any day. */
const ZONE_DAYS: ReadonlyArray<readonly [string, string]> = [
  ['Europe/Paris', '2026-03-29'],
  ['Europe/Paris', '2026-10-25'],
  ['America/New_York', '2026-03-08'],
  ['America/New_York', '2026-11-01'],
  ['America/St_Johns', '2026-03-08'],
  ['America/St_Johns', '2026-11-01'],
  ['Australia/Lord_Howe', '2026-04-05'],
  ['Australia/Lord_Howe', '2026-10-04'],
  ['Asia/Kolkata', '2026-03-29'],
  ['Asia/Kathmandu', '2026-10-25'],
  ['UTC', '2026-03-29'],
];
const WINDOWS = [15 * MIN, 20 * MIN, 30 * MIN, H, 2 * H, 3 * H, D];
const STEP = 17 * MIN; // not a divisor of any window: the sweep lands at many offsets within windows

const instantNearDst = fc
  .tuple(fc.constantFrom(...ZONE_DAYS), fc.integer({ min: -D, max: 2 * D - 1 }))
  .map(([[zone, day], delta]) => ({ zone, ts: utc(`${day}T00:00:00Z`) + delta }));

describe('window alignment, properties', () => {
  it('matches a 5-minute-grid reference across offset changes and non-whole-hour offsets', () => {
    for (const [zone, day] of ZONE_DAYS) {
      const midnight = utc(`${day}T00:00:00Z`);
      const boundariesByWindow = referenceBoundaries(midnight - 2 * D, midnight + 3 * D, WINDOWS, zone);
      for (const w of WINDOWS) {
        const boundaries = boundariesByWindow.get(w)!;
        // Every change of these days falls between 15:00Z the day before (Lord Howe) and 07:00Z (New York).
        for (let ts = midnight - D / 2; ts < midnight + (3 * D) / 2; ts += STEP) {
          const next = boundaries.findIndex((b) => b > ts);
          const expected = [iso(boundaries[next - 1]!), iso(boundaries[next]!)];
          expect(bounds(ts, w, zone), `${zone} ${w / MIN} min at ${iso(ts)}`).toEqual(expected);
        }
      }
    }
  });

  it('windows tile time: start <= ts < end, and the end is the next window start', () => {
    fc.assert(
      fc.property(instantNearDst, fc.constantFrom(...WINDOWS, MIN, 1000), ({ ts, zone }, w) => {
        const start = windowStart(ts, w, zone);
        const end = windowEnd(start, w, zone);
        expect(start).toBeLessThanOrEqual(ts);
        expect(end).toBeGreaterThan(ts);
        expect(windowStart(start, w, zone)).toBe(start);
        expect(windowStart(end - 1, w, zone)).toBe(start);
        expect(windowStart(end, w, zone)).toBe(end);
        expect(windowEnd(ts, w, zone)).toBe(end);
      }),
      { numRuns: 500 },
    );
  });

  it('in UTC equals floor arithmetic for every valid window', () => {
    const divisors = [1000, 2000, 5000, 30_000, MIN, 4 * MIN, 45 * MIN, 90 * MIN, 4 * H, 6 * H, 12 * H, D];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constantFrom(...divisors), (ts, w) => {
        expect(windowStart(ts, w, 'UTC')).toBe(Math.floor(ts / w) * w);
        expect(windowEnd(Math.floor(ts / w) * w, w, 'UTC')).toBe(Math.floor(ts / w) * w + w);
      }),
    );
  });
});
