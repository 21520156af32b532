/**
 * Bus time of one Modbus read transaction, the quantity the read planner minimises.
 * Figures from /work/shared/reference/hardware.md section 6. Every piece of the formula is exported so a
 * benchmark can print it next to the total.
 */
import { PasserelleError } from '../../core/errors.js';

export type ReadFunction = 1 | 2 | 3 | 4;

export type LineTiming =
  | { readonly kind: 'rtu'; readonly baud: number }
  /** bitsPerSecond: link rate used for the (nearly negligible) byte time; default DEFAULT_TCP_BITS_PER_SECOND. */
  | { readonly kind: 'tcp'; readonly rttMs: number; readonly bitsPerSecond?: number };

/** RTU character: start + 8 data + parity (or 2nd stop) + stop. */
export const BITS_PER_CHAR = 11;
/** Above this rate the standard fixes t3.5 instead of scaling it with the baud rate. */
export const T35_FIXED_ABOVE_BAUD = 19_200;
export const T35_FIXED_MS = 1.75;
export const DEFAULT_TCP_BITS_PER_SECOND = 100_000_000;

/** Unit id + function + address (2) + quantity (2), then CRC (2) on RTU or the 7-byte MBAP header on TCP. */
export const RTU_REQUEST_BYTES = 8;
export const TCP_REQUEST_BYTES = 12;
/** Unit id + function + byte count + CRC (2); on TCP MBAP (7) + function + byte count. */
export const RTU_RESPONSE_OVERHEAD_BYTES = 5;
export const TCP_RESPONSE_OVERHEAD_BYTES = 9;

/** Largest quantity one read may ask for (Modbus application protocol limits). */
export const PROTOCOL_MAX_PER_READ: Readonly<Record<ReadFunction, number>> = { 1: 2000, 2: 2000, 3: 125, 4: 125 };

export const isBitFunction = (fn: ReadFunction): boolean => fn === 1 || fn === 2;

/** Data bytes in the response: coils and discrete inputs are packed 8 per byte, registers take 2 bytes. */
export function payloadBytes(fn: ReadFunction, count: number): number {
  return isBitFunction(fn) ? Math.ceil(count / 8) : 2 * count;
}

/** Inter-frame silence t3.5 in ms. */
export function t35Ms(baud: number): number {
  return baud > T35_FIXED_ABOVE_BAUD ? T35_FIXED_MS : (3.5 * BITS_PER_CHAR * 1000) / baud;
}

export interface CostBreakdown {
  readonly requestBytes: number;
  readonly responseBytes: number;
  /** Time to send both frames' bytes. */
  readonly transferMs: number;
  /** RTU: two t3.5 silences (one after each frame); TCP: one network round trip. */
  readonly lineOverheadMs: number;
  readonly turnaroundMs: number;
  readonly totalMs: number;
}

export function costBreakdown(
  timing: LineTiming,
  fn: ReadFunction,
  count: number,
  turnaroundMs: number,
): CostBreakdown {
  assertTiming(timing);
  const rtu = timing.kind === 'rtu';
  const requestBytes = rtu ? RTU_REQUEST_BYTES : TCP_REQUEST_BYTES;
  const responseBytes = (rtu ? RTU_RESPONSE_OVERHEAD_BYTES : TCP_RESPONSE_OVERHEAD_BYTES) + payloadBytes(fn, count);
  const bytes = requestBytes + responseBytes;
  const transferMs = rtu
    ? (bytes * BITS_PER_CHAR * 1000) / timing.baud
    : (bytes * 8 * 1000) / (timing.bitsPerSecond ?? DEFAULT_TCP_BITS_PER_SECOND);
  const lineOverheadMs = rtu ? 2 * t35Ms(timing.baud) : timing.rttMs;
  return {
    requestBytes,
    responseBytes,
    transferMs,
    lineOverheadMs,
    turnaroundMs,
    totalMs: transferMs + lineOverheadMs + turnaroundMs,
  };
}

/** Bus time in ms of one read of `count` coils/inputs/registers. Non-decreasing in `count`. */
export function requestCostMs(timing: LineTiming, fn: ReadFunction, count: number, turnaroundMs: number): number {
  return costBreakdown(timing, fn, count, turnaroundMs).totalMs;
}

function assertTiming(timing: LineTiming): void {
  const ok =
    timing.kind === 'rtu'
      ? Number.isFinite(timing.baud) && timing.baud > 0
      : Number.isFinite(timing.rttMs) &&
        timing.rttMs >= 0 &&
        (timing.bitsPerSecond === undefined || (Number.isFinite(timing.bitsPerSecond) && timing.bitsPerSecond > 0));
  if (!ok) {
    throw new PasserelleError(
      'MODBUS_TIMING_INVALID',
      `Line timing ${JSON.stringify(timing)} is invalid: baud and link rate must be positive, round trip not negative.`,
    );
  }
}
