/**
 * Which TIC labels a device keeps, and what the gateway must know about each as a point.
 * Point names are the labels in lower case, "-1" read as "_prev" (yesterday) and "+1" as "_next"
 * (tomorrow): EAST -> east, SMAXSN-1 -> smaxsn_prev, NJOURF+1 -> njourf_next.
 */
import type { PointInfo } from '../../../core/types.js';
import type { TicDeviceConfig } from '../../../config/schema.js';
import type { TicMode } from './checksum.js';
import { TIC_LABELS, type TicLabelInfo } from './labels.js';
import { ticDefaultLabels, ticPointName } from './schema.js';

export { ticPointName };

export type TicModeOption = TicMode | 'auto';

export const ticModeOf = (device: TicDeviceConfig): TicModeOption => device.tic?.mode ?? 'auto';

/** A label the table does not know is kept as text of unknown meaning (class status). */
const UNKNOWN_LABEL: Omit<TicLabelInfo, 'mode'> = { measure: 'gauge', dataClass: 'status', numeric: false };

export function ticLabelInfo(label: string): Omit<TicLabelInfo, 'mode'> {
  return TIC_LABELS[label] ?? UNKNOWN_LABEL;
}

/**
 * The labels kept: those of `tic.labels`, or every known numeric label of the mode (both modes in
 * auto). Identifiers (ADCO, ADSC, PRM) are kept only when listed: they are text, never a default.
 */
export function ticKeptLabels(device: TicDeviceConfig): string[] {
  if (device.tic?.labels) return [...new Set(device.tic.labels)];
  return ticDefaultLabels(ticModeOf(device));
}

/** Labels kept by default (no `tic.labels`) are reported once the meter has sent them (PointInfo.untilSeen). */
export function ticPointInfos(device: TicDeviceConfig): PointInfo[] {
  const untilSeen = device.tic?.labels === undefined;
  return ticKeptLabels(device).map((label) => {
    const info = ticLabelInfo(label);
    return {
      device: device.id,
      point: ticPointName(label),
      ...(info.unit ? { unit: info.unit } : {}),
      dataClass: info.dataClass,
      measure: info.measure,
      ...(untilSeen ? { untilSeen } : {}),
    };
  });
}
