/**
 * The daily ledger: what one gateway did on one day (site time zone), compact enough to keep 400 days,
 * so the authority can report on a year (transparency report, `passerelle report`). Counts, point names
 * with their data class and the statistics that left or stayed: never a raw value, never an identifier
 * (meter numbers and the like are values of the identifier class: they never reach this).
 */
import type { DataClass, Statistic } from './types.js';
import { readZoneTable, tableOffset } from './zone-table.js';

/** Days a ledger row is kept: a year to report on, plus the weeks it takes to write the report. */
export const LEDGER_KEEP_DAYS = 400;

/** Counters summed when two parts of a day are merged. */
export const LEDGER_COUNTERS = [
  'windows',
  'goodReadings',
  'expectedReadings',
  'recoveredWindows',
  'lostReadings',
  'messagesSent',
  'bytesSent',
  'messagesRefused',
  'readingsKept',
  'readingsErased',
  'dropsRaw',
  'dropsSummaries',
  'pointsCut',
  'clockHeldDiscarded',
] as const;
export type LedgerCounter = (typeof LEDGER_COUNTERS)[number];

/** One point's day: its data class, the statistics that left the building, those that stayed local. */
export interface LedgerPoint {
  readonly dataClass: DataClass;
  readonly left: readonly Statistic[];
  readonly local: readonly Statistic[];
}

export type LedgerFigures = { readonly [K in LedgerCounter]: number } & {
  /** Hashes of the site policies in force that day (more than one: it changed that day). */
  readonly policies: readonly string[];
  /** By point key (`device.point`). */
  readonly points: Readonly<Record<string, LedgerPoint>>;
};

/** A part of a day's figures (one window, a batch of acknowledgements, ...). */
export type LedgerDelta = Partial<LedgerFigures>;

export interface LedgerDay extends LedgerFigures {
  /** YYYY-MM-DD in the site's time zone. */
  readonly day: string;
}

export function emptyFigures(): LedgerFigures {
  const counters = Object.fromEntries(LEDGER_COUNTERS.map((c) => [c, 0])) as Record<LedgerCounter, number>;
  return { ...counters, policies: [], points: {} };
}

/** Sums counters, unites policies and each point's statistics (sorted, so equal days compare equal). */
export function mergeFigures(a: LedgerFigures, b: LedgerDelta): LedgerFigures {
  const counters = Object.fromEntries(LEDGER_COUNTERS.map((c) => [c, a[c] + (b[c] ?? 0)])) as Record<LedgerCounter, number>;
  const points: Record<string, LedgerPoint> = { ...a.points };
  for (const [key, p] of Object.entries(b.points ?? {})) {
    const before = points[key];
    points[key] = before
      ? { dataClass: p.dataClass, left: union(before.left, p.left), local: union(before.local, p.local) }
      : { dataClass: p.dataClass, left: union([], p.left), local: union([], p.local) };
  }
  return { ...counters, policies: union(a.policies, b.policies ?? []), points };
}

function union<T extends string>(a: readonly T[], b: readonly T[]): T[] {
  return [...new Set([...a, ...b])].sort();
}

/**
 * YYYY-MM-DD of an instant in a time zone (IANA name), for the ledger's day: from tzdata's offsets, Intl
 * only where they do not answer (Intl's first formatter costs about 8 MB of RSS, core/zone-table.ts).
 */
export function dayIn(timeZone: string): (ts: number) => string {
  const table = readZoneTable(timeZone);
  let format: Intl.DateTimeFormat | undefined;
  return (ts) => {
    const offset = table && tableOffset(table, ts);
    if (offset !== undefined) return new Date(ts + offset).toISOString().slice(0, 10);
    format ??= new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    const parts = Object.fromEntries(format.formatToParts(ts).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}`;
  };
}
