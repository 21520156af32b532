/**
 * SDI-12 CRC (hardware.md section 7): CRC-16/ARC, reflected poly 0xA001, init 0, no final XOR
 * (check value 0xBB3D for "123456789"), sent as three printable chars of 6, 6 and 4 bits.
 */

/** CRC-16/ARC over latin1 chars of a string, or over bytes. */
export function crc16arc(data: string | Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) {
    crc ^= typeof data === 'string' ? data.charCodeAt(i) & 0xff : (data[i] as number);
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** The three ASCII chars that carry a CRC: 0x40 | top 4 bits, 0x40 | middle 6, 0x40 | low 6. */
export function sdi12CrcChars(crc: number): string {
  return String.fromCharCode(0x40 | ((crc >> 12) & 0x0f), 0x40 | ((crc >> 6) & 0x3f), 0x40 | (crc & 0x3f));
}
