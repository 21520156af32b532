/** The fixed data header of a variable-data telegram (EN 13757-3 section 6): who the meter is. */

export interface MbusHeader {
  /** Identification number, 8 BCD digits (the secondary address), as a string to keep leading zeros. */
  readonly id: string;
  /** Three-letter FLAG code (KAM, ACW, EFE...). */
  readonly manufacturer: string;
  readonly version: number;
  readonly medium: number;
  readonly mediumName: string;
  readonly accessNumber: number;
  readonly status: number;
  readonly signature: number;
}

/** Table 3 of EN 13757-3 (the codes a plant room meets). */
const MEDIA: Partial<Record<number, string>> = {
  0x00: 'Other', 0x01: 'Oil', 0x02: 'Electricity', 0x03: 'Gas', 0x04: 'Heat (outlet)', 0x05: 'Steam',
  0x06: 'Warm water (30-90 °C)', 0x07: 'Water', 0x08: 'Heat cost allocator', 0x09: 'Compressed air',
  0x0a: 'Cooling load meter (outlet)', 0x0b: 'Cooling load meter (inlet)', 0x0c: 'Heat (inlet)',
  0x0d: 'Heat / cooling load meter', 0x0e: 'Bus / system component', 0x0f: 'Unknown medium',
  0x15: 'Hot water (≥ 90 °C)', 0x16: 'Cold water', 0x17: 'Dual register (hot/cold) water meter', 0x18: 'Pressure',
  0x19: 'A/D converter', 0x1a: 'Smoke detector', 0x1b: 'Room sensor', 0x1c: 'Gas detector', 0x20: 'Breaker (electricity)',
  0x21: 'Valve (gas or water)', 0x25: 'Customer unit (display)', 0x28: 'Waste water', 0x29: 'Garbage',
  0x31: 'Communication controller', 0x32: 'Unidirectional repeater', 0x33: 'Bidirectional repeater',
  0x36: 'Radio converter (system side)', 0x37: 'Radio converter (meter side)',
};

export const mediumName = (m: number): string => MEDIA[m] ?? `reserved (${m.toString(16).toUpperCase().padStart(2, '0')}h)`;

/** The manufacturer's FLAG id: three letters packed 5 bits each in a little-endian word. */
export function decodeManufacturer(word: number): string {
  return [10, 5, 0].map((shift) => String.fromCharCode(((word >> shift) & 0x1f) + 64)).join('');
}

export function encodeManufacturer(code: string): number {
  if (!/^[A-Z]{3}$/.test(code)) throw new RangeError(`a manufacturer code is three capital letters, got "${code}"`);
  return [...code].reduce((w, ch) => (w << 5) | (ch.charCodeAt(0) - 64), 0);
}

/** 4 BCD bytes, least significant first, to 8 digits ('F' nibbles, wildcards, come out as F). */
export function bcdId(bytes: ArrayLike<number>, at: number): string {
  let s = '';
  for (let i = 3; i >= 0; i--) s += bytes[at + i]!.toString(16).toUpperCase().padStart(2, '0');
  return s;
}

export function idBytes(id: string): number[] {
  if (!/^[0-9F]{8}$/i.test(id)) throw new RangeError(`an M-Bus identification number is 8 digits, got "${id}"`);
  const out: number[] = [];
  for (let i = 6; i >= 0; i -= 2) out.push(parseInt(id.slice(i, i + 2), 16));
  return out;
}

/** The 12-byte long header of CI 72h: id, manufacturer, version, medium, access number, status, signature. */
export function parseLongHeader(d: Uint8Array): MbusHeader {
  return {
    id: bcdId(d, 0),
    manufacturer: decodeManufacturer(d[4]! | (d[5]! << 8)),
    version: d[6]!,
    medium: d[7]!,
    mediumName: mediumName(d[7]!),
    accessNumber: d[8]!,
    status: d[9]!,
    signature: d[10]! | (d[11]! << 8),
  };
}

/** The status byte (Table 6) in words; empty when all is well. */
export function statusFlags(status: number): string[] {
  const flags: string[] = [];
  const app = status & 3;
  if (app === 1) flags.push('application busy');
  if (app === 2) flags.push('application error');
  if (app === 3) flags.push('abnormal condition / alarm');
  if (status & 0x04) flags.push('power low');
  if (status & 0x08) flags.push('permanent error');
  if (status & 0x10) flags.push('temporary error');
  if (status & 0xe0) flags.push(`manufacturer-specific bits ${(status & 0xe0).toString(16).toUpperCase()}h`);
  return flags;
}
