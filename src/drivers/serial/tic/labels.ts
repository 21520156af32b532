/**
 * What each Linky TIC label means (hardware.md section 1). Index labels are energy counters in Wh;
 * ADCO, ADSC and PRM identify a household's meter: class `identifier`, never sent upstream.
 * A label missing here is still decoded; the driver treats it as text of unknown meaning.
 */
import type { DataClass, Measure } from '../../../core/types.js';
import type { SENML_UNITS } from '../../../core/units.js';
import type { TicMode } from './checksum.js';

export type SenmlUnit = (typeof SENML_UNITS)[number];

export interface TicLabelInfo {
  readonly mode: TicMode;
  /** SenML unit of value * scale; absent for text. */
  readonly unit?: SenmlUnit;
  readonly measure: Measure;
  readonly dataClass: DataClass;
  /** Decimal digits on the wire (leading zeros); text labels keep their string. */
  readonly numeric: boolean;
  /** Multiplier to reach `unit` (PREF and PCOUP are sent in kVA; SenML has VA only). */
  readonly scale?: number;
  /** The group carries a horodate (standard mode). */
  readonly horodated?: boolean;
}

type Entry = readonly [label: string, info: TicLabelInfo];

const counter = (mode: TicMode, unit: SenmlUnit = 'Wh'): TicLabelInfo => ({ mode, unit, measure: 'counter', dataClass: 'energy', numeric: true });
const gauge = (mode: TicMode, unit: SenmlUnit, extra: Partial<TicLabelInfo> = {}): TicLabelInfo => ({ mode, unit, measure: 'gauge', dataClass: 'energy', numeric: true, ...extra });
const text = (mode: TicMode, dataClass: DataClass = 'status', extra: Partial<TicLabelInfo> = {}): TicLabelInfo => ({ mode, measure: 'gauge', dataClass, numeric: false, ...extra });
const numbered = (prefix: string, from: number, to: number, width: number, suffix = ''): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${String(from + i).padStart(width, '0')}${suffix}`);
const each = (labels: readonly string[], info: TicLabelInfo): Entry[] => labels.map((label) => [label, info] as const);

const H = 'historique';
const S = 'standard';

const HISTORIQUE: Entry[] = [
  ['ADCO', text(H, 'identifier')],
  ['OPTARIF', text(H)],
  ['ISOUSC', gauge(H, 'A', { dataClass: 'status' })],
  ...each(['BASE', 'HCHC', 'HCHP', 'EJPHN', 'EJPHPM', 'BBRHCJB', 'BBRHPJB', 'BBRHCJW', 'BBRHPJW', 'BBRHCJR', 'BBRHPJR'], counter(H)),
  ['PTEC', text(H)],
  ['DEMAIN', text(H)],
  ...each(['IINST', 'IINST1', 'IINST2', 'IINST3'], gauge(H, 'A')),
  ...each(['IMAX', 'IMAX1', 'IMAX2', 'IMAX3', 'ADPS', 'ADIR1', 'ADIR2', 'ADIR3'], gauge(H, 'A', { dataClass: 'status' })),
  ['PAPP', gauge(H, 'VA')],
  ['PMAX', gauge(H, 'W')],
  ['HHPHC', text(H)],
  ['PPOT', text(H)],
  ['MOTDETAT', text(H, 'diagnostic')],
];

const STANDARD: Entry[] = [
  ['ADSC', text(S, 'identifier')],
  ['PRM', text(S, 'identifier')],
  ['VTIC', text(S, 'diagnostic')],
  ['DATE', text(S, 'status', { horodated: true })],
  ...each(['NGTF', 'LTARF', 'NTARF', 'STGE', 'RELAIS', 'MSG1', 'MSG2', 'NJOURF', 'NJOURF+1', 'PJOURF+1', 'PPOINTE'], text(S)),
  ...each(['EAST', ...numbered('EASF', 1, 10, 2), ...numbered('EASD', 1, 4, 2), 'EAIT'], counter(S)),
  ...each(numbered('ERQ', 1, 4, 1), counter(S, 'varh')),
  ...each(numbered('IRMS', 1, 3, 1), gauge(S, 'A')),
  ...each(numbered('URMS', 1, 3, 1), gauge(S, 'V')),
  ...each(numbered('UMOY', 1, 3, 1), gauge(S, 'V', { horodated: true })),
  // PREF/PCOUP unit kVA is UNVERIFIED in hardware.md.
  ...each(['PREF', 'PCOUP'], gauge(S, 'VA', { dataClass: 'status', scale: 1000 })),
  ...each(['SINSTS', 'SINSTS1', 'SINSTS2', 'SINSTS3', 'SINSTI'], gauge(S, 'VA')),
  ...each(['SMAXSN', 'SMAXSN1', 'SMAXSN2', 'SMAXSN3', 'SMAXSN-1', 'SMAXSN1-1', 'SMAXSN2-1', 'SMAXSN3-1', 'SMAXIN', 'SMAXIN-1'], gauge(S, 'VA', { horodated: true })),
  ...each(['CCASN', 'CCASN-1', 'CCAIN', 'CCAIN-1'], gauge(S, 'W', { horodated: true })),
  ...each([...numbered('DPM', 1, 3, 1), ...numbered('FPM', 1, 3, 1)], text(S, 'status', { horodated: true })),
];

export const TIC_LABELS: Readonly<Record<string, TicLabelInfo>> = Object.freeze(Object.fromEntries([...HISTORIQUE, ...STANDARD]));

/**
 * Numeric value of a numeric label scaled to its unit; null for text labels, unknown labels or
 * values that are not plain decimal digits (a corrupted but checksum-valid value).
 */
export function ticNumericValue(label: string, value: string): number | null {
  const info = TIC_LABELS[label];
  if (!info?.numeric || !/^\d{1,15}$/.test(value)) return null;
  return Number(value) * (info.scale ?? 1);
}
