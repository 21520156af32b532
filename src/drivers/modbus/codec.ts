/**
 * Register codec: pure functions between Modbus 16-bit words and numbers.
 *
 * Word orders name the position of the four bytes A B C D of a big-endian 32-bit value as they arrive
 * (reference: 123456.0 = 0x47F12000 is ABCD 47F1 2000, CDAB 2000 47F1, BADC F147 0020, DCBA 0020 F147).
 * 16-bit types follow the byte half of the order: BADC and DCBA swap the two bytes of the register.
 */
import { PasserelleError } from '../../core/errors.js';
import type { BadReason } from '../../core/types.js';
import { registersFor } from '../../profiles/registers.js';
import type { ProfilePoint, ValueType, WordOrder } from '../../profiles/schema.js';

export { registersFor };

export type DecodeResult = { value: number; reason?: undefined } | { value: null; reason: Extract<BadReason, 'no-sensor' | 'decode'> };

const F32_MAX = 3.4028234663852886e38;

/** Smallest and largest raw value a type can carry (before scale and offset). */
export function valueRange(type: ValueType): readonly [number, number] {
  switch (type) {
    case 'u16': return [0, 0xffff];
    case 'i16': return [-0x8000, 0x7fff];
    case 'sm16': return [-0x7fff, 0x7fff];
    case 'u32': return [0, 0xffffffff];
    case 'i32': return [-0x80000000, 0x7fffffff];
    case 'f32': return [-F32_MAX, F32_MAX];
    case 'bool': return [0, 1];
  }
}

const swapsBytes = (order: WordOrder): boolean => order === 'BADC' || order === 'DCBA';

/**
 * Maps between the 4 bytes as received and the canonical big-endian bytes A B C D.
 * Every permutation here is its own inverse, so encoding uses the same function.
 */
function reorder(bytes: readonly [number, number, number, number], order: WordOrder): [number, number, number, number] {
  const [r0, r1, r2, r3] = bytes;
  switch (order) {
    case 'ABCD': return [r0, r1, r2, r3];
    case 'CDAB': return [r2, r3, r0, r1];
    case 'BADC': return [r1, r0, r3, r2];
    case 'DCBA': return [r3, r2, r1, r0];
  }
}

function checkWords(words: readonly number[], type: ValueType, offset: number): void {
  const needed = registersFor(type);
  if (words.length - offset < needed) {
    throw new PasserelleError('E_DECODE_LENGTH', `a ${type} value needs ${needed} register(s), got ${Math.max(0, words.length - offset)}`);
  }
  for (let i = offset; i < offset + needed; i++) {
    const w = words[i]!;
    if (!Number.isInteger(w) || w < 0 || w > 0xffff) {
      throw new PasserelleError('E_DECODE_WORD', `register value ${w} is not a 16-bit word`);
    }
  }
}

/** The register as an unsigned 16-bit number, bytes put back in A B order. */
function word16(word: number, order: WordOrder): number {
  return swapsBytes(order) ? ((word & 0xff) << 8) | (word >>> 8) : word;
}

/** One scratch view for every 32-bit decode (synchronous, so never shared by two calls): no allocation per value. */
const SCRATCH32 = new DataView(new ArrayBuffer(4));

/** The two registers at `at` as canonical A B C D in SCRATCH32 (reorder() without its arrays: this runs per reading). */
function view32(words: readonly number[], order: WordOrder, at: number): DataView {
  const w0 = words[at]!;
  const w1 = words[at + 1]!;
  const wordsInOrder = order === 'ABCD' || order === 'BADC';
  const hi = wordsInOrder ? w0 : w1;
  const lo = wordsInOrder ? w1 : w0;
  if (swapsBytes(order)) {
    SCRATCH32.setUint16(0, ((hi & 0xff) << 8) | (hi >>> 8));
    SCRATCH32.setUint16(2, ((lo & 0xff) << 8) | (lo >>> 8));
  } else {
    SCRATCH32.setUint16(0, hi);
    SCRATCH32.setUint16(2, lo);
  }
  return SCRATCH32;
}

/**
 * Decodes the raw value (before scale/offset) from the registers at `offset`. Throws PasserelleError on
 * too few words or non-16-bit words.
 */
export function decodeRegisters(words: readonly number[], type: ValueType, order: WordOrder, offset = 0): number {
  checkWords(words, type, offset);
  if (registersFor(type) === 2) {
    const view = view32(words, order, offset);
    if (type === 'u32') return view.getUint32(0);
    if (type === 'i32') return view.getInt32(0);
    return view.getFloat32(0);
  }
  const w = word16(words[offset]!, order);
  switch (type) {
    case 'i16': return w >= 0x8000 ? w - 0x10000 : w;
    // 0x8000 is "minus zero": report 0, never -0.
    case 'sm16': return w & 0x8000 ? -(w & 0x7fff) || 0 : w;
    case 'bool': return w === 0 ? 0 : 1;
    default: return w;
  }
}

function checkEncodable(value: number, type: ValueType): void {
  if (type === 'f32') return; // any number, NaN and infinities included, has an f32 form
  const [min, max] = valueRange(type);
  const ok = type === 'bool' ? !Number.isNaN(value) : Number.isInteger(value) && value >= min && value <= max;
  if (!ok) throw new PasserelleError('E_ENCODE_RANGE', `${value} cannot be stored as ${type} (integer in ${min}..${max})`);
}

/** Inverse of decodeRegisters (used by simulators). bool: any non-zero value is 1. f32 rounds to nearest. */
export function encodeValue(value: number, type: ValueType, order: WordOrder): number[] {
  checkEncodable(value, type);
  if (registersFor(type) === 2) {
    const view = new DataView(new ArrayBuffer(4));
    if (type === 'u32') view.setUint32(0, value);
    else if (type === 'i32') view.setInt32(0, value);
    else view.setFloat32(0, value);
    const [b0, b1, b2, b3] = reorder([view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3)], order);
    return [(b0 << 8) | b1, (b2 << 8) | b3];
  }
  let w: number;
  if (type === 'bool') w = value === 0 ? 0 : 1;
  else if (type === 'sm16') w = value < 0 ? 0x8000 | -value : value;
  else w = value & 0xffff; // i16 two's complement; u16 unchanged
  return [word16(w, order)];
}

/** decimalsOf per scale or offset seen: profiles use a handful, and it formats a string. Emptied at the bound. */
const MAX_MEMO_DECIMALS = 256;
const decimalsMemo = new Map<number, number>();

function decimalsOf(n: number): number {
  if (Number.isInteger(n)) return 0;
  let decimals = decimalsMemo.get(n);
  if (decimals === undefined) {
    if (decimalsMemo.size >= MAX_MEMO_DECIMALS) decimalsMemo.clear();
    decimalsMemo.set(n, (decimals = decimalsWritten(n)));
  }
  return decimals;
}

/** Decimal places a number is written with (0.1 -> 1, 0.01 -> 2, 1e-7 -> 7), at most 10. */
function decimalsWritten(n: number): number {
  const [mantissa = '', exponent] = Math.abs(n).toString().split('e');
  const fraction = mantissa.split('.')[1]?.length ?? 0;
  return Math.min(10, Math.max(0, fraction - Number(exponent ?? 0)));
}

/**
 * raw * scale + offset. For integer types the result is rounded to the decimals of scale and offset,
 * so 658 * 0.1 reads 65.8 and not 65.80000000000001; f32 values are left as decoded.
 */
export function applyScale(raw: number, point: Pick<ProfilePoint, 'scale' | 'offset' | 'type'>): number {
  const value = raw * point.scale + point.offset;
  if (point.type === 'f32') return value;
  const decimals = Math.max(decimalsOf(point.scale), decimalsOf(point.offset));
  return decimals === 0 ? value : Number(value.toFixed(decimals));
}

/** The raw bits as an unsigned number, to compare with the profile's noSensor marker. */
function unsignedRaw(words: readonly number[], point: ProfilePoint, offset: number): number {
  return decodeRegisters(words, registersFor(point.type) === 2 ? 'u32' : 'u16', point.order, offset);
}

/**
 * Decodes a point's words to its engineering value. Never throws: malformed input is reason 'decode',
 * NaN or infinite f32 is 'decode', and the noSensor marker (matched on the raw bits or the typed value) is 'no-sensor'.
 */
export function decodePoint(words: readonly number[], point: ProfilePoint, offset = 0): DecodeResult {
  let raw: number;
  try {
    raw = decodeRegisters(words, point.type, point.order, offset);
    if (point.noSensor !== undefined && (point.noSensor === raw || point.noSensor === unsignedRaw(words, point, offset))) {
      return { value: null, reason: 'no-sensor' };
    }
  } catch {
    return { value: null, reason: 'decode' };
  }
  if (!Number.isFinite(raw)) return { value: null, reason: 'decode' };
  return { value: applyScale(raw, point) };
}
