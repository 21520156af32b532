/**
 * A closed window's line in the daily ledger (core/ledger.ts): how complete it was, and for each point
 * which statistics left the building under the site policy and which stayed local. Counts and names
 * only: the values themselves never reach the ledger.
 */
import type { PolicyConfig } from '../config/schema.js';
import type { LedgerDelta, LedgerPoint } from '../core/ledger.js';
import { pointKey, STATISTICS, type PointSummary, type Statistic, type WindowSummary } from '../core/types.js';
import { applyPolicy } from '../uplink/policy.js';

export function windowLedger(summary: WindowSummary, policy: PolicyConfig): LedgerDelta {
  const sent = new Map(applyPolicy(summary, policy).points.map((p) => [pointKey(p.device, p.point), statisticsOf(p)]));
  const points: Record<string, LedgerPoint> = {};
  let good = 0;
  let expected = 0;
  for (const p of summary.points) {
    good += p.count;
    expected += p.expected;
    const key = pointKey(p.device, p.point);
    const left = sent.get(key) ?? [];
    points[key] = { dataClass: p.dataClass, left, local: statisticsOf(p).filter((s) => !left.includes(s)) };
  }
  return {
    windows: 1,
    goodReadings: good,
    expectedReadings: expected,
    recoveredWindows: summary.recovered ? 1 : 0,
    lostReadings: summary.recovered?.lost ?? 0,
    dropsRaw: summary.drops?.raw ?? 0,
    dropsSummaries: summary.drops?.summaries ?? 0,
    pointsCut: summary.drops?.points ?? 0,
    points,
  };
}

/** The statistics a point summary carries (count always: a quality figure). */
function statisticsOf(p: PointSummary): Statistic[] {
  return STATISTICS.filter((s) => s === 'count' || p[s] !== undefined);
}
