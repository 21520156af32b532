/**
 * What the line did, per unit. Every transaction put on the line ends in exactly one outcome:
 *   requests = ok + Σ exceptions + crc + silence + short + garbled + disconnected.
 * `timeouts` counts the outcomes that ran to the timeout (silence, and short or garbled replies cut off by
 * it): they are what a sick device costs the line. `retries` counts requests that were retries.
 */
import type { ModbusFailure } from './modbus-failure.js';

export interface UnitStats {
  requests: number;
  ok: number;
  retries: number;
  timeouts: number;
  silence: number;
  short: number;
  garbled: number;
  crc: number;
  /** By exception code. */
  exceptions: Record<number, number>;
  /** The link dropped during the transaction. */
  disconnected: number;
  /** Transactions never put on the line because the port or socket was down. */
  unavailable: number;
}

export const emptyUnitStats = (): UnitStats => ({
  requests: 0,
  ok: 0,
  retries: 0,
  timeouts: 0,
  silence: 0,
  short: 0,
  garbled: 0,
  crc: 0,
  exceptions: {},
  disconnected: 0,
  unavailable: 0,
});

export function countFailure(s: UnitStats, f: ModbusFailure): void {
  if (f.timedOut) s.timeouts++;
  switch (f.reason) {
    case 'exception':
      s.exceptions[f.exceptionCode ?? 0] = (s.exceptions[f.exceptionCode ?? 0] ?? 0) + 1;
      return;
    case 'crc':
      s.crc++;
      return;
    case 'disconnected':
      s.disconnected++;
      return;
    default:
      s[f.detail ?? 'silence']++;
  }
}
