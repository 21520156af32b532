/**
 * Linky TIC group checksum (hardware.md section 1, verified vectors).
 * A group on the wire: LF, label, sep, [horodate, sep], value, sep, checksum, CR.
 */

/** historique: 1200 baud, SP separator, label ADCO. standard: 9600 baud, HT separator, label ADSC. */
export type TicMode = 'historique' | 'standard';

export const STX = 0x02;
export const ETX = 0x03;
export const EOT = 0x04;
export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const HT = 0x09;

export const separatorOf = (mode: TicMode): number => (mode === 'standard' ? HT : SP);

/**
 * Checksum byte of a group. `bytes[start, end)` is the group between LF and the checksum char,
 * i.e. it ends with the separator that precedes the checksum. That separator is summed in standard
 * mode and not in historique mode. Result: (sum & 0x3F) + 0x20, a byte in 0x20..0x5F (may be a space).
 */
export function checksumTic(bytes: Uint8Array | string, mode: TicMode, start = 0, end = bytes.length): number {
  const last = mode === 'historique' ? end - 1 : end;
  let sum = 0;
  if (typeof bytes === 'string') {
    for (let i = start; i < last; i++) sum += bytes.charCodeAt(i);
  } else {
    for (let i = start; i < last; i++) sum += bytes[i] as number;
  }
  return (sum & 0x3f) + 0x20;
}
