/**
 * Standard-mode horodate SAAMMJJhhmmss, e.g. H240210121355. S is the season: E summer (UTC+2),
 * H winter (UTC+1); lowercase means the meter clock runs degraded (UNVERIFIED in hardware.md).
 */

export type TicSeason = 'summer' | 'winter';

export interface TicHorodate {
  /** The 13 characters as received. */
  readonly raw: string;
  /** Local time with the season's offset, e.g. 2024-02-10T12:13:55+01:00. */
  readonly iso: string;
  /** Same instant, ms since the Unix epoch. */
  readonly ts: number;
  readonly season: TicSeason;
  /** The meter says its clock is not trustworthy (lowercase season letter). */
  readonly degraded: boolean;
}

const HORODATE = /^([EHeh])(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/;
const OFFSET_HOURS: Readonly<Record<TicSeason, number>> = { summer: 2, winter: 1 };

/** Parses a horodate; null when it is not 13 chars of season + valid date and time. */
export function parseTicHorodate(raw: string): TicHorodate | null {
  const m = HORODATE.exec(raw);
  if (!m) return null;
  const [, letter, yy, mo, dd, hh, mi, ss] = m as unknown as [string, string, string, string, string, string, string, string];
  const season: TicSeason = letter === 'E' || letter === 'e' ? 'summer' : 'winter';
  const year = 2000 + Number(yy);
  const local = Date.UTC(year, Number(mo) - 1, Number(dd), Number(hh), Number(mi), Number(ss));
  const d = new Date(local);
  // Date.UTC rolls 31 Feb into March: a round trip catches impossible dates.
  if (d.getUTCMonth() !== Number(mo) - 1 || d.getUTCDate() !== Number(dd) || d.getUTCHours() !== Number(hh) || Number(mi) > 59 || Number(ss) > 59) {
    return null;
  }
  const offset = OFFSET_HOURS[season];
  return {
    raw,
    iso: `${year}-${mo}-${dd}T${hh}:${mi}:${ss}+0${offset}:00`,
    ts: local - offset * 3_600_000,
    season,
    degraded: letter === 'e' || letter === 'h',
  };
}

/** Builds a horodate for a simulator or a test: `ts` is shown in the season's local time. */
export function formatTicHorodate(ts: number, season: TicSeason, degraded = false): string {
  const d = new Date(ts + OFFSET_HOURS[season] * 3_600_000);
  const two = (n: number): string => String(n).padStart(2, '0');
  const letter = season === 'summer' ? 'E' : 'H';
  return (
    (degraded ? letter.toLowerCase() : letter) +
    two(d.getUTCFullYear() % 100) + two(d.getUTCMonth() + 1) + two(d.getUTCDate()) +
    two(d.getUTCHours()) + two(d.getUTCMinutes()) + two(d.getUTCSeconds())
  );
}
