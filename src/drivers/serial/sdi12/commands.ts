/** SDI-12 command builders: address char, command, `!` (hardware.md section 7). */
import { PasserelleError } from '../../../core/errors.js';

/** Standard addresses are 0-9; a-z and A-Z are the extended range. Default `0`. */
export const isSdi12Address = (a: string): boolean => /^[0-9a-zA-Z]$/.test(a);

function address(a: string): string {
  if (!isSdi12Address(a)) {
    throw new PasserelleError('E_SDI12_ADDRESS', `"${a}" is not an SDI-12 address (one char: 0-9, a-z or A-Z)`);
  }
  return a;
}

function digit(n: number, what: string, min = 0): string {
  if (!Number.isInteger(n) || n < min || n > 9) {
    throw new PasserelleError('E_SDI12_COMMAND', `${what} must be a digit from ${min} to 9, got ${n}`);
  }
  return String(n);
}

export interface Sdi12MeasureOptions {
  /** aC! (concurrent: no service request, several sensors measure at once) instead of aM!. */
  readonly concurrent?: boolean;
  /** aMC!: the data replies carry a CRC. */
  readonly crc?: boolean;
  /** aM1!..aM9!: additional measurements; 0 = aM!. */
  readonly index?: number;
}

/** `a!` – is sensor a there? */
export const sdi12Acknowledge = (a: string): string => `${address(a)}!`;
/** `?!` – address of the only sensor on the bus. */
export const sdi12AddressQuery = (): string => '?!';
/** `aAb!` – change address a to b. */
export const sdi12ChangeAddress = (a: string, b: string): string => `${address(a)}A${address(b)}!`;
/** `aI!` – identification. */
export const sdi12Identify = (a: string): string => `${address(a)}I!`;

/** `aM!`, `aMC!`, `aM1!`, `aC!`, `aCC2!` … – start a measurement. */
export function sdi12Measure(a: string, opts: Sdi12MeasureOptions = {}): string {
  const index = opts.index ?? 0;
  return `${address(a)}${opts.concurrent ? 'C' : 'M'}${opts.crc ? 'C' : ''}${index === 0 ? '' : digit(index, 'measurement index', 1)}!`;
}

/** `aD0!`…`aD9!` – fetch values of the last measurement. */
export const sdi12Data = (a: string, index: number): string => `${address(a)}D${digit(index, 'data index')}!`;

/** `aR0!`…`aR9!` (`aRC0!` with CRC) – continuous measurement. */
export const sdi12Continuous = (a: string, index: number, opts: { crc?: boolean } = {}): string =>
  `${address(a)}R${opts.crc ? 'C' : ''}${digit(index, 'continuous index')}!`;
