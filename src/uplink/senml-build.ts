/**
 * WindowSummary -> SenML records. Layout (see README.md in this folder):
 *   header:    {bn, bt, n: "msg-id", vs}, {n: "window-start", v, u: "s"}
 *   per point: <device>/<point>/<stat> for count and the value statistics,
 *              <device>/<point>/completeness (ratio, unit "/"), <device>/<point>/bad.<reason>
 * Every record of a window carries the base time (window end); no record has its own `t`.
 */
import { PasserelleError } from '../core/errors.js';
import type { BadReason, PointSummary, WindowSummary } from '../core/types.js';
import { isSecondaryUnit } from '../core/units.js';
import { isValidSenmlName, SENML_VERSION_SECONDARY_UNITS, type SenmlRecord } from './senml-types.js';

const NUMERIC_STATISTICS = ['min', 'max', 'mean', 'last', 'delta'] as const;

export const senmlBaseName = (site: string, gateway: string): string => `urn:dev:passerelle:${site}:${gateway}:`;

/** SenML records of one summary: the header, the local drops if any, then every point's group, in summary order. */
export function summaryToSenml(summary: WindowSummary): SenmlRecord[] {
  return [...senmlHeader(summary, summary.id), ...bodyGroups(summary).flat()];
}

/**
 * The body in groups a split never cuts: the drops and the recovery marking first (in the first part
 * only, so they are counted once), then one group per point.
 */
export function bodyGroups(summary: WindowSummary): SenmlRecord[][] {
  const local = [...dropRecords(summary), ...recoveredRecords(summary)];
  return [...(local.length > 0 ? [local] : []), ...summary.points.map((p) => pointRecords(summary, p))];
}

/** A window rebuilt after a crash says so, with its gap (outbox-messages.ts decides when it may leave alone). */
function recoveredRecords(summary: WindowSummary): SenmlRecord[] {
  const { recovered } = summary;
  if (!recovered) return [];
  const records = [numberRecord('recovered/lost', recovered.lost)];
  if (recovered.gapStart !== undefined) records.push(numberRecord('recovered/gap-start', recovered.gapStart / 1000, 's'));
  if (recovered.gapEnd !== undefined) records.push(numberRecord('recovered/gap-end', recovered.gapEnd / 1000, 's'));
  return records;
}

/**
 * Data the gateway had to drop since the previous summary (store caps, disk full): health figures that
 * outbox-messages.ts keeps only under `policy.health: [drops]`. Absent when nothing was dropped.
 */
function dropRecords(summary: WindowSummary): SenmlRecord[] {
  const { drops } = summary;
  if (!drops) return [];
  const stored = drops.raw + drops.summaries > 0 ? [numberRecord('drops/raw', drops.raw), numberRecord('drops/summaries', drops.summaries)] : [];
  return [...stored, ...((drops.points ?? 0) > 0 ? [numberRecord('drops/points', drops.points!)] : [])];
}

/** The records every message of a window starts with; `msgId` differs per part when a window is split. */
export function senmlHeader(summary: WindowSummary, msgId: string): SenmlRecord[] {
  const bn = senmlBaseName(summary.site, summary.gateway);
  return [
    {
      bn,
      bt: summary.end / 1000,
      // RFC 9100 section 4: a pack with a secondary unit (kWh, ppm, ...) announces the feature, so that a
      // reader that does not know secondary units refuses the pack rather than misreads a value.
      ...(usesSecondaryUnits(summary) && { bver: SENML_VERSION_SECONDARY_UNITS }),
      n: 'msg-id',
      vs: msgId,
    },
    { n: 'window-start', v: summary.start / 1000, u: 's' },
  ];
}

/** Decided per window, not per part, so that every part of a split window has the same header. */
function usesSecondaryUnits(summary: WindowSummary): boolean {
  return summary.points.some(
    (p) => p.unit !== undefined && isSecondaryUnit(p.unit) && NUMERIC_STATISTICS.some((s) => typeof p[s] === 'number'),
  );
}

/** One point's records. Throws E_SENML_NAME when a device or point id cannot form a SenML name. */
export function pointRecords(summary: WindowSummary, point: PointSummary): SenmlRecord[] {
  const prefix = `${point.device}/${point.point}/`;
  const fullName = senmlBaseName(summary.site, summary.gateway) + prefix + 'count';
  if (!isValidSenmlName(fullName)) {
    throw new PasserelleError(
      'E_SENML_NAME',
      `"${fullName}" is not a valid SenML name: site, gateway, device and point ids may only use letters, digits and - : . / _`,
    );
  }
  const records: SenmlRecord[] = [numberRecord(prefix + 'count', point.count)];
  for (const statistic of NUMERIC_STATISTICS) {
    const value = point[statistic];
    if (typeof value === 'string') records.push({ n: prefix + statistic, vs: value });
    else if (value !== undefined) records.push(numberRecord(prefix + statistic, toSensorPrecision(value), point.unit));
  }
  if (point.expected > 0) {
    // A ratio in "/" (RFC 8428 recommends it over "%"), rounded to 4 decimals: 0.9667 = 96.67 %.
    const ratio = Math.round((point.count / point.expected) * 10_000) / 10_000;
    records.push(numberRecord(prefix + 'completeness', ratio, '/'));
  }
  for (const reason of Object.keys(point.bad).sort() as BadReason[]) {
    const count = point.bad[reason] ?? 0;
    if (count > 0) records.push(numberRecord(`${prefix}bad.${reason}`, count));
  }
  return records.filter((r) => r.v === undefined || Number.isFinite(r.v));
}

/** Significant digits sent: a 32-bit float carries about 7.2, a 16-bit register fewer. */
export const VALUE_SIGNIFICANT_DIGITS = 7;

/**
 * Sobriety: no false precision upstream. A statistic keeps 7 significant digits (a mean computed in
 * double precision from float32 readings has no more); whole numbers (counter indexes) are kept exact.
 */
export function toSensorPrecision(value: number): number {
  if (!Number.isFinite(value) || Number.isInteger(value)) return value;
  return Number(value.toPrecision(VALUE_SIGNIFICANT_DIGITS));
}

/**
 * A numeric record. -0 becomes 0 (JSON cannot tell them apart). A non-finite value (a pipeline bug)
 * yields a record the caller filters out: JSON has no NaN, and one bad figure must not block the window.
 */
function numberRecord(n: string, value: number, unit?: string): SenmlRecord {
  const v = value === 0 ? 0 : value;
  return unit === undefined ? { n, v } : { n, u: unit, v };
}
