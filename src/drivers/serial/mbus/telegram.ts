/**
 * EN 13757-3 application layer: the user data of an RSP_UD (CI 72h with the long header, 7Ah with
 * the short one, 78h with none) to a header and data records. It never throws: a record that does
 * not parse ends the telegram with a problem, and the records before it are kept.
 */
import { MBUS_FUNCTIONS, MBUS_QUANTITIES, type MbusFunction, type MbusQuantity } from '../../../profiles/mbus-quantities.js';
import { parseLongHeader, type MbusHeader } from './header.js';
import { readVif } from './vif.js';

export const CI_VARIABLE = 0x72;
export const CI_VARIABLE_SHORT = 0x7a;
export const CI_VARIABLE_NONE = 0x78;

export interface MbusRecord {
  /** 0-based position in the telegram. */
  readonly index: number;
  readonly function: MbusFunction;
  readonly storage: number;
  readonly tariff: number;
  readonly subunit: number;
  readonly quantity: MbusQuantity;
  /** Value in the quantity's base unit; a date as YYYY-MM-DD[THH:MM[:SS]] (meter time), text as text, null when none or invalid. */
  readonly value: number | string | null;
  readonly unit?: string;
  readonly description: string;
  /** The data field's bytes as hex (manufacturer-specific VIFs are kept this way only). */
  readonly raw: string;
  readonly modifiers: readonly string[];
  /** Why value is null although data was sent (a BCD digit A-F, a date marked invalid...). */
  readonly invalid?: string;
  readonly errorCode?: number;
  readonly plainText?: string;
  readonly dif: readonly number[];
  readonly vif: readonly number[];
}

export interface MbusTelegram {
  readonly ci: number;
  readonly header?: MbusHeader;
  /** Access number and status of a short header (CI 7Ah). */
  readonly shortHeader?: { readonly accessNumber: number; readonly status: number; readonly signature: number };
  readonly records: MbusRecord[];
  /** Bytes after DIF 0Fh/1Fh, as hex. */
  readonly manufacturerData?: string;
  /** DIF 1Fh: the meter has more records; ask again with REQ_UD2 and the FCB toggled. */
  readonly moreFollows: boolean;
  /** Why decoding stopped before the end, if it did. */
  readonly problem?: { readonly code: string; readonly message: string; readonly at: number };
}

export type TelegramResult = { readonly ok: true; readonly telegram: MbusTelegram } | { readonly ok: false; readonly code: string; readonly message: string };

const MAX_DIFE = 10;

export function parseUserData(ci: number, data: Uint8Array): TelegramResult {
  let at = 0;
  let header: MbusHeader | undefined;
  let shortHeader: MbusTelegram['shortHeader'];
  let signature = 0;
  if (ci === CI_VARIABLE) {
    if (data.length < 12) return { ok: false, code: 'E_MBUS_HEADER', message: `the fixed header needs 12 bytes, the telegram has ${data.length}` };
    header = parseLongHeader(data);
    signature = header.signature;
    at = 12;
  } else if (ci === CI_VARIABLE_SHORT) {
    if (data.length < 4) return { ok: false, code: 'E_MBUS_HEADER', message: `the short header needs 4 bytes, the telegram has ${data.length}` };
    signature = data[2]! | (data[3]! << 8);
    shortHeader = { accessNumber: data[0]!, status: data[1]!, signature };
    at = 4;
  } else if (ci !== CI_VARIABLE_NONE) {
    return { ok: false, code: 'E_MBUS_CI', message: `CI ${ci.toString(16).toUpperCase()}h is not a variable data response (72h, 7Ah, 78h); fixed-structure and MSB-first telegrams are not decoded` };
  }
  // Configuration word bits 8-12: security mode (EN 13757-7). 2-15 are ciphers; 0 is clear, and
  // older meters fill the field with a signature whose bits land in the reserved modes 16-31.
  const mode = (signature >> 8) & 0x1f;
  if (mode >= 2 && mode <= 15) {
    return { ok: false, code: 'E_MBUS_ENCRYPTED', message: `the data is encrypted (security mode ${mode}); configure the meter to send it in clear on the wired bus` };
  }
  const records: MbusRecord[] = [];
  let manufacturerData: string | undefined;
  let moreFollows = false;
  let problem: MbusTelegram['problem'];
  while (at < data.length) {
    const dif = data[at]!;
    if (dif === 0x2f) {
      at++; // idle filler
      continue;
    }
    if (dif === 0x0f || dif === 0x1f) {
      moreFollows = dif === 0x1f;
      manufacturerData = toHex(data.subarray(at + 1));
      at = data.length;
      break;
    }
    const parsed = parseRecord(data, at, records.length);
    if (!parsed.ok) {
      problem = { code: parsed.code, message: parsed.message, at };
      break;
    }
    records.push(parsed.record);
    at = parsed.next;
  }
  const telegram: MbusTelegram = {
    ci,
    ...(header ? { header } : {}),
    ...(shortHeader ? { shortHeader } : {}),
    records,
    ...(manufacturerData !== undefined ? { manufacturerData } : {}),
    moreFollows,
    ...(problem ? { problem } : {}),
  };
  return { ok: true, telegram };
}

type RecordResult = { ok: true; record: MbusRecord; next: number } | { ok: false; code: string; message: string };

function parseRecord(data: Uint8Array, start: number, index: number): RecordResult {
  const dif = data[start]!;
  if ((dif & 0x0f) === 0x0f) return { ok: false, code: 'E_MBUS_DIF', message: `DIF ${hex(dif)} is reserved or a master's request in a response` };
  const difs = [dif];
  let storage = (dif >> 6) & 1;
  let tariff = 0;
  let subunit = 0;
  let at = start + 1;
  for (let n = 0, ext = (dif & 0x80) !== 0; ext; n++) {
    const dife = data[at];
    if (dife === undefined) return { ok: false, code: 'E_MBUS_TRUNCATED', message: 'the telegram ends inside a DIFE' };
    if (n >= MAX_DIFE) return { ok: false, code: 'E_MBUS_DIF', message: `more than ${MAX_DIFE} DIFE` };
    difs.push(dife);
    storage += (dife & 0x0f) * 2 ** (1 + 4 * n);
    tariff += ((dife >> 4) & 3) * 2 ** (2 * n);
    subunit += ((dife >> 6) & 1) * 2 ** n;
    ext = (dife & 0x80) !== 0;
    at++;
  }
  const vif = readVif(data, at);
  if (!vif.ok) return { ok: false, code: 'E_MBUS_VIF', message: vif.message };
  at = vif.next;
  const field = readField(data, at, dif & 0x0f);
  if (!field.ok) return { ok: false, code: 'E_MBUS_TRUNCATED', message: field.message };
  const { info } = vif;
  const meta = MBUS_QUANTITIES[info.quantity];
  const bytes = data.subarray(at, field.next);
  const value = interpret(field.value, info.quantity, info.factor, bytes, dif & 0x0f);
  const description = [info.plainText ?? meta.description, ...info.modifiers].join(', ');
  const record: MbusRecord = {
    index,
    function: MBUS_FUNCTIONS[(dif >> 4) & 3]!,
    storage,
    tariff,
    subunit,
    quantity: info.quantity,
    value: value.value,
    ...('unit' in meta && typeof value.value === 'number' && info.quantity !== 'plain_text' ? { unit: meta.unit } : {}),
    description,
    raw: toHex(bytes),
    modifiers: info.modifiers,
    ...(value.invalid ? { invalid: value.invalid } : {}),
    ...(info.errorCode !== undefined ? { errorCode: info.errorCode } : {}),
    ...(info.plainText !== undefined ? { plainText: info.plainText } : {}),
    dif: difs,
    vif: info.vif,
  };
  return { ok: true, record, next: field.next };
}

type Raw = { kind: 'none' } | { kind: 'int'; value: bigint; bytes: number } | { kind: 'real'; value: number } | { kind: 'bcd'; value: number | undefined } | { kind: 'text'; value: string } | { kind: 'binary' };

type FieldResult = { ok: true; value: Raw; next: number } | { ok: false; message: string };

const INT_BYTES: Partial<Record<number, number>> = { 1: 1, 2: 2, 3: 3, 4: 4, 6: 6, 7: 8 };
const BCD_BYTES: Partial<Record<number, number>> = { 9: 1, 0xa: 2, 0xb: 3, 0xc: 4, 0xe: 6 };

/** The data field of type DIF & 0Fh (Table 5). */
function readField(data: Uint8Array, at: number, type: number): FieldResult {
  const need = (n: number): FieldResult | undefined => (at + n > data.length ? { ok: false, message: `the telegram ends inside a ${n}-byte value` } : undefined);
  if (type === 0 || type === 8) return { ok: true, value: { kind: 'none' }, next: at };
  const ints = INT_BYTES[type];
  if (ints !== undefined) return need(ints) ?? { ok: true, value: { kind: 'int', value: intLE(data, at, ints), bytes: ints }, next: at + ints };
  if (type === 5) return need(4) ?? { ok: true, value: { kind: 'real', value: Buffer.from(data.buffer, data.byteOffset + at, 4).readFloatLE(0) }, next: at + 4 };
  const bcds = BCD_BYTES[type];
  if (bcds !== undefined) return need(bcds) ?? { ok: true, value: { kind: 'bcd', value: bcd(data, at, bcds) }, next: at + bcds };
  // Variable length (type 0Dh): LVAR then its data.
  const lvar = data[at];
  if (lvar === undefined) return { ok: false, message: 'the telegram ends before a variable-length LVAR' };
  at++;
  if (lvar <= 0xbf) return need(lvar) ?? { ok: true, value: { kind: 'text', value: Buffer.from(data.subarray(at, at + lvar)).reverse().toString('latin1') }, next: at + lvar };
  if (lvar <= 0xcf || (lvar >= 0xd0 && lvar <= 0xdf)) {
    const n = lvar & 0x0f;
    const fail = need(n);
    if (fail) return fail;
    const v = bcd(data, at, n);
    return { ok: true, value: { kind: 'bcd', value: v === undefined ? undefined : lvar >= 0xd0 ? -v : v }, next: at + n };
  }
  if (lvar <= 0xef) {
    const n = lvar - 0xe0;
    const fail = need(n);
    if (fail) return fail;
    return { ok: true, value: n > 0 && n <= 8 ? { kind: 'int', value: intLE(data, at, n), bytes: n } : { kind: 'binary' }, next: at + n };
  }
  return { ok: false, message: `LVAR ${hex(lvar)} is reserved` };
}

function intLE(data: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[at + i]!);
  const sign = 1n << BigInt(8 * n - 1);
  return v & sign ? v - (sign << 1n) : v;
}

/** Packed BCD, least significant byte first; an F in the top nibble is a minus sign; other A-F digits make it invalid. */
function bcd(data: Uint8Array, at: number, n: number): number | undefined {
  let v = 0;
  let negative = false;
  for (let i = n - 1; i >= 0; i--) {
    const b = data[at + i]!;
    let hi = b >> 4;
    const lo = b & 0x0f;
    if (i === n - 1 && hi === 0x0f) {
      negative = true;
      hi = 0;
    }
    if (hi > 9 || lo > 9) return undefined;
    v = v * 100 + hi * 10 + lo;
  }
  return negative ? -v : v;
}

function interpret(raw: Raw, quantity: MbusQuantity, factor: number, bytes: Uint8Array, type: number): { value: number | string | null; invalid?: string } {
  switch (raw.kind) {
    case 'none':
    case 'binary':
      return { value: null };
    case 'text':
      return { value: raw.value };
    case 'bcd':
      return raw.value === undefined ? { value: null, invalid: 'a BCD digit is A-F (the meter marks the value as not available)' } : { value: scaled(raw.value, factor) };
    case 'real':
      return Number.isFinite(raw.value) ? { value: scaled(raw.value, factor) } : { value: null, invalid: 'not a finite real number' };
    case 'int': {
      if (quantity === 'manufacturer_specific') return { value: null };
      if (isDateQuantity(quantity)) return dateOf(bytes, type);
      return { value: scaled(Number(raw.value), factor) };
    }
  }
}

const isDateQuantity = (q: MbusQuantity): boolean => q === 'date' || q === 'date_time' || q === 'tariff_start' || q === 'battery_change';

/** Rounded to 12 significant digits so 12349 * 0.01 is 123.49, not 123.49000000000001. */
const scaled = (v: number, factor: number): number => (factor === 1 ? v : Number((v * factor).toPrecision(12)));

/** Date types G (2 bytes), F (4 bytes) and I (6 bytes) of Annex A, as meter-local ISO text. */
function dateOf(b: Uint8Array, type: number): { value: string | null; invalid?: string } {
  const pad = (n: number) => String(n).padStart(2, '0');
  const ymd = (dayByte: number, monthByte: number) => {
    const year = 2000 + (((dayByte >> 5) & 7) | ((monthByte >> 1) & 0x78));
    return { year, month: monthByte & 0x0f, day: dayByte & 0x1f };
  };
  if (type === 2 && b.length === 2) {
    const { year, month, day } = ymd(b[0]!, b[1]!);
    if (month < 1 || month > 12 || day < 1) return { value: null, invalid: 'date (type G) out of range' };
    return { value: `${year}-${pad(month)}-${pad(day)}` };
  }
  if (type === 4 && b.length === 4) {
    if (b[0]! & 0x80) return { value: null, invalid: 'the meter marks this date/time invalid (IV bit)' };
    const { year, month, day } = ymd(b[2]!, b[3]!);
    if (month < 1 || month > 12 || day < 1) return { value: null, invalid: 'date/time (type F) out of range' };
    return { value: `${year}-${pad(month)}-${pad(day)}T${pad(b[1]! & 0x1f)}:${pad(b[0]! & 0x3f)}` };
  }
  if (type === 6 && b.length === 6) {
    if (b[1]! & 0x80) return { value: null, invalid: 'the meter marks this date/time invalid (IV bit)' };
    const { year, month, day } = ymd(b[3]!, b[4]!);
    if (month < 1 || month > 12 || day < 1) return { value: null, invalid: 'date/time (type I) out of range' };
    return { value: `${year}-${pad(month)}-${pad(day)}T${pad(b[2]! & 0x1f)}:${pad(b[1]! & 0x3f)}:${pad(b[0]! & 0x3f)}` };
  }
  return { value: null, invalid: `a date of ${b.length} bytes is not type F, G or I` };
}

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex').toUpperCase().replace(/(..)(?=.)/g, '$1 ');
const hex = (b: number): string => `${b.toString(16).toUpperCase().padStart(2, '0')}h`;
