/**
 * One TIC group, parsed by position from the bytes between LF and CR:
 * label, sep, [horodate, sep], value, sep, checksum. Never trims: the checksum can be a space,
 * and standard-mode values can contain spaces, so fields split on the separator only.
 */
import { checksumTic, HT, SP, type TicMode } from './checksum.js';
import { parseTicHorodate, type TicHorodate } from './horodate.js';

export interface TicGroup {
  readonly mode: TicMode;
  readonly label: string;
  /** Exactly as sent (leading zeros kept); may be empty (standard DATE). */
  readonly value: string;
  readonly horodate?: TicHorodate;
}

export type TicGroupErrorCode = 'E_TIC_CHECKSUM' | 'E_TIC_GROUP';

export interface TicGroupFault {
  readonly code: TicGroupErrorCode;
  readonly message: string;
}

export const isTicGroupFault = (r: TicGroup | TicGroupFault): r is TicGroupFault => 'code' in r;

const fault = (code: TicGroupErrorCode, message: string): TicGroupFault => ({ code, message });

/** Parses `bytes[start, end)` (LF and CR excluded). */
export function parseTicGroup(bytes: Buffer, start: number, end: number): TicGroup | TicGroupFault {
  if (end - start < 3) return fault('E_TIC_GROUP', 'group too short (needs label, separator and checksum)');
  const badChar = findBadChar(bytes, start, end);
  if (badChar >= 0x80) {
    return fault('E_TIC_GROUP', 'byte with bit 7 set: set the serial port to 7 data bits, even parity (7E1)');
  }
  if (badChar >= 0) return fault('E_TIC_GROUP', `control byte 0x${hex(badChar)} inside a group`);

  const sep = bytes[end - 2];
  if (sep !== SP && sep !== HT) return fault('E_TIC_GROUP', 'no separator (space or tab) before the checksum');
  const mode: TicMode = sep === HT ? 'standard' : 'historique';

  const expected = checksumTic(bytes, mode, start, end - 1);
  const received = bytes[end - 1] as number;
  if (received !== expected) {
    return fault('E_TIC_CHECKSUM', `checksum "${String.fromCharCode(received)}" received, "${String.fromCharCode(expected)}" computed (${mode} mode)`);
  }
  return mode === 'standard' ? splitStandard(bytes, start, end - 2) : splitHistorique(bytes, start, end - 2);
}

/** First byte that may not appear between LF and CR, or -1. HT is the standard separator. */
function findBadChar(bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if ((b < 0x20 && b !== HT) || b >= 0x7f) return b;
  }
  return -1;
}

function splitHistorique(bytes: Buffer, start: number, end: number): TicGroup | TicGroupFault {
  const space = indexOfByte(bytes, SP, start, end);
  if (space < 0) return fault('E_TIC_GROUP', 'historique group without a space between label and value');
  if (indexOfByte(bytes, HT, start, end) >= 0) return fault('E_TIC_GROUP', 'tab inside a historique group');
  return withLabel('historique', bytes.toString('latin1', start, space), bytes.toString('latin1', space + 1, end));
}

function splitStandard(bytes: Buffer, start: number, end: number): TicGroup | TicGroupFault {
  const first = indexOfByte(bytes, HT, start, end);
  if (first < 0) return fault('E_TIC_GROUP', 'standard group without a tab between label and value');
  const second = indexOfByte(bytes, HT, first + 1, end);
  const label = bytes.toString('latin1', start, first);
  if (second < 0) return withLabel('standard', label, bytes.toString('latin1', first + 1, end));

  if (indexOfByte(bytes, HT, second + 1, end) >= 0) return fault('E_TIC_GROUP', 'standard group with more than three fields');
  const rawHorodate = bytes.toString('latin1', first + 1, second);
  const horodate = parseTicHorodate(rawHorodate);
  if (!horodate) return fault('E_TIC_GROUP', `bad horodate "${rawHorodate}" (expected SAAMMJJhhmmss, S = E or H)`);
  return withLabel('standard', label, bytes.toString('latin1', second + 1, end), horodate);
}

function withLabel(mode: TicMode, label: string, value: string, horodate?: TicHorodate): TicGroup | TicGroupFault {
  if (label.length === 0 || label.includes(' ')) return fault('E_TIC_GROUP', `bad label "${label}"`);
  return horodate ? { mode, label, value, horodate } : { mode, label, value };
}

/** Like Buffer.indexOf but stops at `end`: the group buffer holds stale bytes past the group. */
function indexOfByte(bytes: Uint8Array, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (bytes[i] === byte) return i;
  return -1;
}

const hex = (b: number): string => b.toString(16).padStart(2, '0');
