/**
 * WindowSummary -> SenML records. Layout (see README.md in this folder):
 *   header:    {bn, bt, n: "msg-id", vs}, {n: "window-start", v, u: "s"}
 *   per point: <device>/<point>/<stat> for count and the value statistics,
 *              <device>/<point>/completeness (%), <device>/<point>/bad.<reason>
 * Every record of a window carries the base time (window end); no record has its own `t`.
 */
import { PasserelleError } from '../core/errors.js';
import type { BadReason, PointSummary, WindowSummary } from '../core/types.js';
import { isValidSenmlName, type SenmlRecord } from './senml-types.js';

export const senmlBaseName = (site: string, gateway: string): string => `urn:dev:passerelle:${site}:${gateway}:`;

/** SenML records of one summary: the header, then every point's group, in summary order. */
export function summaryToSenml(summary: WindowSummary): SenmlRecord[] {
  return [...senmlHeader(summary, summary.id), ...summary.points.flatMap((p) => pointRecords(summary, p))];
}

/** The records every message of a window starts with; `msgId` differs per part when a window is split. */
export function senmlHeader(summary: WindowSummary, msgId: string): SenmlRecord[] {
  return [
    { bn: senmlBaseName(summary.site, summary.gateway), bt: summary.end / 1000, n: 'msg-id', vs: msgId },
    { n: 'window-start', v: summary.start / 1000, u: 's' },
  ];
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
  for (const statistic of ['min', 'max', 'mean', 'last', 'delta'] as const) {
    const value = point[statistic];
    if (typeof value === 'string') records.push({ n: prefix + statistic, vs: value });
    else if (value !== undefined) records.push(numberRecord(prefix + statistic, value, point.unit));
  }
  if (point.expected > 0) {
    const percent = Math.round((point.count / point.expected) * 10_000) / 100;
    records.push(numberRecord(prefix + 'completeness', percent, '%'));
  }
  for (const reason of Object.keys(point.bad).sort() as BadReason[]) {
    const count = point.bad[reason] ?? 0;
    if (count > 0) records.push(numberRecord(`${prefix}bad.${reason}`, count));
  }
  return records.filter((r) => r.v === undefined || Number.isFinite(r.v));
}

/**
 * A numeric record. -0 becomes 0 (JSON cannot tell them apart). A non-finite value (a pipeline bug)
 * yields a record the caller filters out: JSON has no NaN, and one bad figure must not block the window.
 */
function numberRecord(n: string, value: number, unit?: string): SenmlRecord {
  const v = value === 0 ? 0 : value;
  return unit === undefined ? { n, v } : { n, u: unit, v };
}
