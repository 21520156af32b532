/**
 * Value information (EN 13757-3 section 8.4): the VIF and its extensions say what a record measures
 * and its decimal exponent. Every variant is mapped to a quantity and a factor to the quantity's one
 * base unit (src/profiles/mbus-quantities.ts): Wh, m3, W, m3/s, Cel, K, Pa, s, V, A.
 */
import type { MbusQuantity } from '../../../profiles/mbus-quantities.js';

export interface ValueInfo {
  readonly quantity: MbusQuantity;
  /** value in the base unit = raw * factor (1 for dates, text and dimensionless). */
  readonly factor: number;
  /** Combinable extensions (Table 15) that change the meaning, e.g. "per input pulse on channel 0". */
  readonly modifiers: readonly string[];
  /** Record error code from a VIFE 00h-1Fh (the meter flags this value as wrong). */
  readonly errorCode?: number;
  /** The unit label of a plain-text VIF (7Ch), as sent (un-reversed). */
  readonly plainText?: string;
  /** The VIF, then its extension bytes, as on the wire. */
  readonly vif: readonly number[];
}

const WH_PER_J = 1 / 3600;
const TIME_UNITS = [1, 60, 3600, 86400];

/** Primary VIF table (Table 10), extension bit stripped. */
function primary(v: number): { quantity: MbusQuantity; factor: number } {
  const n3 = v & 7;
  const n2 = v & 3;
  if (v <= 0x07) return { quantity: 'energy', factor: 10 ** (n3 - 3) };
  if (v <= 0x0f) return { quantity: 'energy', factor: 10 ** n3 * WH_PER_J };
  if (v <= 0x17) return { quantity: 'volume', factor: 10 ** (n3 - 6) };
  if (v <= 0x1f) return { quantity: 'mass', factor: 10 ** (n3 - 3) };
  if (v <= 0x23) return { quantity: 'on_time', factor: TIME_UNITS[n2]! };
  if (v <= 0x27) return { quantity: 'operating_time', factor: TIME_UNITS[n2]! };
  if (v <= 0x2f) return { quantity: 'power', factor: 10 ** (n3 - 3) };
  if (v <= 0x37) return { quantity: 'power', factor: 10 ** n3 / 3600 };
  if (v <= 0x3f) return { quantity: 'volume_flow', factor: 10 ** (n3 - 6) / 3600 };
  if (v <= 0x47) return { quantity: 'volume_flow', factor: 10 ** (n3 - 7) / 60 };
  if (v <= 0x4f) return { quantity: 'volume_flow', factor: 10 ** (n3 - 9) };
  if (v <= 0x57) return { quantity: 'mass_flow', factor: 10 ** (n3 - 3) };
  if (v <= 0x5b) return { quantity: 'flow_temperature', factor: 10 ** (n2 - 3) };
  if (v <= 0x5f) return { quantity: 'return_temperature', factor: 10 ** (n2 - 3) };
  if (v <= 0x63) return { quantity: 'temperature_difference', factor: 10 ** (n2 - 3) };
  if (v <= 0x67) return { quantity: 'external_temperature', factor: 10 ** (n2 - 3) };
  if (v <= 0x6b) return { quantity: 'pressure', factor: 10 ** (n2 - 3) * 1e5 };
  if (v === 0x6c) return { quantity: 'date', factor: 1 };
  if (v === 0x6d) return { quantity: 'date_time', factor: 1 };
  if (v === 0x6e) return { quantity: 'hca', factor: 1 };
  if (v >= 0x70 && v <= 0x73) return { quantity: 'averaging_duration', factor: TIME_UNITS[n2]! };
  if (v >= 0x74 && v <= 0x77) return { quantity: 'actuality_duration', factor: TIME_UNITS[n2]! };
  if (v === 0x78) return { quantity: 'fabrication_number', factor: 1 };
  if (v === 0x79) return { quantity: 'enhanced_identification', factor: 1 };
  if (v === 0x7a) return { quantity: 'bus_address', factor: 1 };
  return { quantity: 'unknown', factor: 1 };
}

/** First extension table, after VIF FDh (Table 14). */
function tableFD(v: number): { quantity: MbusQuantity; factor: number } {
  const n2 = v & 3;
  if (v <= 0x03) return { quantity: 'credit', factor: 10 ** (n2 - 3) };
  if (v <= 0x07) return { quantity: 'debit', factor: 10 ** (n2 - 3) };
  const single: Partial<Record<number, MbusQuantity>> = {
    0x08: 'access_number', 0x09: 'medium', 0x0a: 'manufacturer', 0x0b: 'parameter_set', 0x0c: 'model_version',
    0x0d: 'hardware_version', 0x0e: 'firmware_version', 0x0f: 'software_version', 0x10: 'customer_location',
    0x11: 'customer', 0x12: 'access_code', 0x13: 'access_code', 0x14: 'access_code', 0x15: 'access_code',
    0x16: 'password', 0x17: 'error_flags', 0x18: 'error_mask', 0x1a: 'digital_output', 0x1b: 'digital_input',
    0x1c: 'baud_rate', 0x1d: 'response_delay', 0x1e: 'retry', 0x30: 'tariff_start', 0x3a: 'dimensionless',
    0x60: 'reset_counter', 0x61: 'cumulation_counter', 0x62: 'control_signal', 0x63: 'day_of_week',
    0x64: 'week_number', 0x70: 'battery_change',
  };
  const named = single[v];
  if (named) return { quantity: named, factor: 1 };
  if (v >= 0x22 && v <= 0x27) return { quantity: 'storage_interval', factor: 1 };
  if (v >= 0x2c && v <= 0x2f) return { quantity: 'duration_since_readout', factor: TIME_UNITS[n2]! };
  if (v >= 0x31 && v <= 0x33) return { quantity: 'tariff_duration', factor: TIME_UNITS[n2]! };
  if (v >= 0x34 && v <= 0x37) return { quantity: 'tariff_period', factor: TIME_UNITS[n2]! };
  if (v >= 0x40 && v <= 0x4f) return { quantity: 'voltage', factor: 10 ** ((v & 15) - 9) };
  if (v >= 0x50 && v <= 0x5f) return { quantity: 'current', factor: 10 ** ((v & 15) - 12) };
  if (v >= 0x6c && v <= 0x6f) return { quantity: 'battery_time', factor: [3600, 86400, 2_629_800, 31_557_600][n2]! };
  return { quantity: 'unknown', factor: 1 };
}

/** Second extension table, after VIF FBh (Table 12): large energies, volumes and powers. */
function tableFB(v: number): { quantity: MbusQuantity; factor: number } {
  const n1 = v & 1;
  if (v <= 0x01) return { quantity: 'energy', factor: 10 ** (n1 - 1) * 1e6 };
  if (v === 0x08 || v === 0x09) return { quantity: 'energy', factor: 10 ** (n1 - 1) * 1e9 * WH_PER_J };
  if (v === 0x10 || v === 0x11) return { quantity: 'volume', factor: 10 ** (n1 + 2) };
  if (v === 0x28 || v === 0x29) return { quantity: 'power', factor: 10 ** (n1 - 1) * 1e6 };
  if (v === 0x30 || v === 0x31) return { quantity: 'power', factor: 10 ** (n1 - 1) * 1e9 / 3600 };
  if (v >= 0x74 && v <= 0x77) return { quantity: 'temperature_limit', factor: 10 ** ((v & 3) - 3) };
  return { quantity: 'unknown', factor: 1 };
}

/** Combinable (orthogonal) VIFE, Table 15: the ones that only scale are applied, the others named. */
const MODIFIERS: Partial<Record<number, string>> = {
  0x20: 'per second', 0x21: 'per minute', 0x22: 'per hour', 0x23: 'per day', 0x24: 'per week', 0x25: 'per month',
  0x26: 'per year', 0x27: 'per revolution/measurement', 0x28: 'increment per input pulse on channel 0',
  0x29: 'increment per input pulse on channel 1', 0x2a: 'increment per output pulse on channel 0',
  0x2b: 'increment per output pulse on channel 1', 0x2c: 'per litre', 0x2d: 'per m3', 0x2e: 'per kg', 0x2f: 'per K',
  0x30: 'per kWh', 0x31: 'per GJ', 0x32: 'per kW', 0x33: 'per K*l', 0x34: 'per V', 0x35: 'per A',
  0x36: 'multiplied by s', 0x37: 'multiplied by s/V', 0x38: 'multiplied by s/A', 0x39: 'start date/time of',
  0x3a: 'uncorrected unit', 0x3b: 'accumulation only if positive', 0x3c: 'accumulation of abs value only if negative',
  0x40: 'lower limit value', 0x48: 'upper limit value', 0x41: 'number of exceeds of lower limit',
  0x49: 'number of exceeds of upper limit', 0x7e: 'future value',
};

export function modifierName(vife: number): string {
  return MODIFIERS[vife] ?? `VIFE ${vife.toString(16).toUpperCase().padStart(2, '0')}h`;
}

export type VifResult = { readonly ok: true; readonly info: ValueInfo; readonly next: number } | { readonly ok: false; readonly message: string };

/** At most 10 VIFE follow a VIF (EN 13757-3). */
const MAX_VIFE = 10;

/** Reads the VIF at data[at] and its extensions (and a plain-text VIF's label). */
export function readVif(data: Uint8Array, at: number): VifResult {
  const vif = data[at];
  if (vif === undefined) return { ok: false, message: 'the record ends before its VIF' };
  const bytes = [vif];
  let i = at + 1;
  let ext = (vif & 0x80) !== 0;
  const next = (): number | undefined => {
    const b = data[i];
    if (b === undefined) return undefined;
    bytes.push(b);
    i++;
    ext = (b & 0x80) !== 0;
    return b & 0x7f;
  };
  const base = vif & 0x7f;
  let quantity: MbusQuantity;
  let factor = 1;
  let plainText: string | undefined;
  if (base === 0x7d || base === 0x7b) {
    if (!ext) return { ok: false, message: `VIF ${base === 0x7d ? 'FD' : 'FB'}h without its extension byte` };
    const e = next();
    if (e === undefined) return { ok: false, message: 'the record ends inside its VIF extension' };
    ({ quantity, factor } = base === 0x7d ? tableFD(e) : tableFB(e));
  } else if (base === 0x7c) {
    // The label's length and characters (last first) follow the VIF, before any VIFE (as libmbus reads it).
    quantity = 'plain_text';
    const len = data[i];
    if (len === undefined || i + 1 + len > data.length) return { ok: false, message: 'the plain-text VIF runs past the end of the data' };
    plainText = Buffer.from(data.subarray(i + 1, i + 1 + len)).reverse().toString('latin1');
    bytes.push(...data.subarray(i, i + 1 + len));
    i += 1 + len;
  } else if (base === 0x7f) {
    quantity = 'manufacturer_specific';
  } else if (base === 0x7e) {
    quantity = 'unknown';
  } else {
    ({ quantity, factor } = primary(base));
  }
  const modifiers: string[] = [];
  let errorCode: number | undefined;
  // After a manufacturer-specific VIF or VIFE, the extensions are the maker's own: kept raw, not read.
  let manufacturerExtension = quantity === 'manufacturer_specific';
  for (let n = 0; ext; n++) {
    if (n >= MAX_VIFE) return { ok: false, message: `more than ${MAX_VIFE} VIF extensions` };
    const e = next();
    if (e === undefined) return { ok: false, message: 'the record ends inside its VIF extensions' };
    if (manufacturerExtension) continue; // what follows a manufacturer-specific VIFE is the maker's own
    if (e === 0x7f) {
      manufacturerExtension = true;
      modifiers.push('manufacturer-specific extension');
    } else if (e <= 0x1f) {
      errorCode = e;
    } else if (e >= 0x70 && e <= 0x77) {
      factor *= 10 ** ((e & 7) - 6);
    } else if (e === 0x7d) {
      factor *= 1000;
    } else {
      modifiers.push(modifierName(e));
    }
  }
  const info: ValueInfo = { quantity, factor, modifiers, vif: bytes, ...(errorCode !== undefined ? { errorCode } : {}), ...(plainText !== undefined ? { plainText } : {}) };
  return { ok: true, info, next: i };
}
