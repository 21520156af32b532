/** Builds RSP_UD telegrams (the simulator, tests, benchmarks): the inverse of telegram.ts for the common types. */
import { encodeManufacturer, idBytes } from './header.js';
import { C_RSP_UD, encodeLong } from './frame.js';
import { CI_VARIABLE } from './telegram.js';

export interface HeaderInput {
  readonly id: string;
  readonly manufacturer: string;
  readonly version: number;
  readonly medium: number;
  readonly accessNumber: number;
  readonly status?: number;
}

export type DataType = 'int8' | 'int16' | 'int24' | 'int32' | 'int48' | 'int64' | 'real32' | 'bcd2' | 'bcd4' | 'bcd6' | 'bcd8' | 'bcd12';

export interface RecordInput {
  readonly type: DataType;
  /** The VIF and its extensions, e.g. [0x04] for energy in 10 Wh, [0xfb, 0x00] for 0.1 MWh. */
  readonly vif: readonly number[];
  /** The raw (unscaled) integer or real sent. */
  readonly raw: number;
  readonly function?: 0 | 1 | 2 | 3;
  readonly storage?: number;
  readonly tariff?: number;
  readonly subunit?: number;
}

const CODES: Record<DataType, { code: number; bytes: number }> = {
  int8: { code: 1, bytes: 1 }, int16: { code: 2, bytes: 2 }, int24: { code: 3, bytes: 3 }, int32: { code: 4, bytes: 4 },
  real32: { code: 5, bytes: 4 }, int48: { code: 6, bytes: 6 }, int64: { code: 7, bytes: 8 },
  bcd2: { code: 9, bytes: 1 }, bcd4: { code: 0xa, bytes: 2 }, bcd6: { code: 0xb, bytes: 3 }, bcd8: { code: 0xc, bytes: 4 }, bcd12: { code: 0xe, bytes: 6 },
};

export function encodeHeader(h: HeaderInput): number[] {
  const m = encodeManufacturer(h.manufacturer);
  return [...idBytes(h.id), m & 0xff, m >> 8, h.version, h.medium, h.accessNumber & 0xff, h.status ?? 0, 0, 0];
}

/** DIF, DIFEs (as many as storage, tariff and subunit need), VIF(E)s and data. */
export function encodeRecord(r: RecordInput): number[] {
  const { code, bytes } = CODES[r.type];
  const storage = r.storage ?? 0;
  let rest = { storage: Math.floor(storage / 2), tariff: r.tariff ?? 0, subunit: r.subunit ?? 0 };
  const difes: number[] = [];
  while (rest.storage > 0 || rest.tariff > 0 || rest.subunit > 0) {
    difes.push((rest.storage & 0x0f) | ((rest.tariff & 3) << 4) | ((rest.subunit & 1) << 6));
    rest = { storage: Math.floor(rest.storage / 16), tariff: Math.floor(rest.tariff / 4), subunit: Math.floor(rest.subunit / 2) };
  }
  const dif = code | ((r.function ?? 0) << 4) | ((storage & 1) << 6) | (difes.length > 0 ? 0x80 : 0);
  const chained = difes.map((d, i) => (i < difes.length - 1 ? d | 0x80 : d));
  return [dif, ...chained, ...r.vif, ...dataBytes(r.type, bytes, r.raw)];
}

function dataBytes(type: DataType, n: number, raw: number): number[] {
  const out = Buffer.alloc(n);
  if (type === 'real32') out.writeFloatLE(raw);
  else if (type.startsWith('bcd')) {
    let v = Math.abs(Math.trunc(raw));
    for (let i = 0; i < n; i++) {
      out[i] = (v % 10) | (Math.floor(v / 10) % 10 << 4);
      v = Math.floor(v / 100);
    }
    if (raw < 0) out[n - 1] = (out[n - 1]! & 0x0f) | 0xf0;
  } else {
    let v = BigInt.asUintN(8 * n, BigInt(Math.trunc(raw)));
    for (let i = 0; i < n; i++) {
      out[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  }
  return [...out];
}

/** A whole RSP_UD long frame from a meter at `address`; `more` ends it with DIF 1Fh. */
export function encodeRspUd(address: number, header: HeaderInput, records: readonly RecordInput[], more = false): Buffer {
  const data = [...encodeHeader(header), ...records.flatMap(encodeRecord), ...(more ? [0x1f] : [])];
  return encodeLong(C_RSP_UD, address, CI_VARIABLE, data);
}
