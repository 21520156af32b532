/** Builds TIC groups and frames, for the simulator and the tests. */
import { PasserelleError } from '../../../core/errors.js';
import { checksumTic, type TicMode } from './checksum.js';
import { parseTicHorodate } from './horodate.js';

export interface TicGroupInput {
  readonly label: string;
  readonly value: string;
  /** Standard mode only: 13-char SAAMMJJhhmmss. */
  readonly horodate?: string;
}

const LABEL = /^[\x21-\x7e]+$/;
const VALUE = /^[\x20-\x7e]*$/;

/** One group as a string: LF label sep [horodate sep] value sep checksum CR. */
export function encodeTicGroup(label: string, value: string, mode: TicMode, horodate?: string): string {
  checkGroup(label, value, mode, horodate);
  const sep = mode === 'standard' ? '\t' : ' ';
  const body = horodate === undefined ? `${label}${sep}${value}${sep}` : `${label}${sep}${horodate}${sep}${value}${sep}`;
  return `\n${body}${String.fromCharCode(checksumTic(body, mode))}\r`;
}

/** A whole frame as wire bytes: STX, groups, ETX. */
export function encodeTicFrame(groups: readonly TicGroupInput[], mode: TicMode): Uint8Array {
  const text = groups.map((g) => encodeTicGroup(g.label, g.value, mode, g.horodate)).join('');
  return Buffer.from(`\x02${text}\x03`, 'latin1');
}

function checkGroup(label: string, value: string, mode: TicMode, horodate: string | undefined): void {
  const invalid = (why: string): never => {
    throw new PasserelleError('E_TIC_ENCODE', `cannot encode TIC group ${JSON.stringify(label)}: ${why}`);
  };
  if (!LABEL.test(label)) invalid('the label must be printable ASCII without spaces');
  if (!VALUE.test(value)) invalid('the value must be printable ASCII');
  if (mode === 'historique') {
    if (horodate !== undefined) invalid('historique groups carry no horodate');
  } else if (horodate !== undefined && !parseTicHorodate(horodate)) {
    invalid(`bad horodate ${JSON.stringify(horodate)}`);
  }
}
