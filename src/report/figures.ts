/**
 * The transparency report's figures, from the daily ledger (core/ledger.ts): per day and in total, what
 * left the building and what stayed, with data classes, and the policies in force. Pure: the HTML page
 * (html.ts) and `--json` show the same object.
 */
import { emptyFigures, LEDGER_COUNTERS, mergeFigures, type LedgerCounter, type LedgerDay } from '../core/ledger.js';
import type { DataClass, Statistic } from '../core/types.js';

export interface ReportPolicy {
  readonly hash: string;
  readonly firstDay: string;
  readonly policy: unknown;
}

export interface ReportPoint {
  readonly point: string;
  readonly dataClass: DataClass;
  /** Statistics sent upstream on at least one day of the period. */
  readonly left: readonly Statistic[];
  /** Statistics kept on the gateway only. */
  readonly local: readonly Statistic[];
}

export type ReportDay = { readonly day: string; readonly completeness: number | null } & { readonly [K in LedgerCounter]: number } & {
  readonly policies: readonly string[];
};

export interface ReportFigures {
  readonly site: string;
  readonly gateway: string;
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly totals: { readonly [K in LedgerCounter]: number } & { readonly completeness: number | null; readonly days: number };
  readonly days: readonly ReportDay[];
  readonly points: readonly ReportPoint[];
  /** Policies in force during the period, with the day each was first seen. */
  readonly policies: readonly ReportPolicy[];
}

export interface ReportInput {
  readonly site: string;
  readonly gateway: string;
  readonly from: string;
  readonly to: string;
  readonly days: readonly LedgerDay[];
  readonly policies: readonly { hash: string; firstDay: string; policy: string }[];
  readonly now: Date;
}

/** Share of expected readings that were good, or null when nothing was expected (push-only meters). */
const completeness = (good: number, expected: number): number | null => (expected > 0 ? Math.min(1, good / expected) : null);

export function reportFigures(input: ReportInput): ReportFigures {
  let all = emptyFigures();
  for (const d of input.days) all = mergeFigures(all, d);
  const inForce = new Set(all.policies);
  const counters = Object.fromEntries(LEDGER_COUNTERS.map((c) => [c, all[c]])) as Record<LedgerCounter, number>;
  return {
    site: input.site,
    gateway: input.gateway,
    from: input.from,
    to: input.to,
    generatedAt: input.now.toISOString(),
    totals: { ...counters, completeness: completeness(all.goodReadings, all.expectedReadings), days: input.days.length },
    days: input.days.map((d) => ({
      day: d.day,
      completeness: completeness(d.goodReadings, d.expectedReadings),
      ...(Object.fromEntries(LEDGER_COUNTERS.map((c) => [c, d[c]])) as Record<LedgerCounter, number>),
      policies: d.policies,
    })),
    points: Object.entries(all.points)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([point, p]) => ({ point, dataClass: p.dataClass, left: p.left, local: p.local.filter((s) => !p.left.includes(s)) })),
    policies: input.policies.filter((p) => inForce.has(p.hash)).map((p) => ({ hash: p.hash, firstDay: p.firstDay, policy: parse(p.policy) })),
  };
}

function parse(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}
