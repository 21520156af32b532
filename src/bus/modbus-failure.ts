/**
 * What every Modbus transport shares: the endpoint, the request types, the failure reasons, and the
 * connection interface the bus drives. No transport code here, so importing a failure type loads no client.
 */
import { PasserelleError } from '../core/errors.js';

export type ReadFunction = 1 | 2 | 3 | 4;

/**
 * timeout: nothing came back (silence). frame: something came back that is not a usable reply
 * (detail 'short': a reply cut off; 'garbled': bytes that are no reply). crc: a whole reply, bad CRC.
 */
export type FailureReason = 'timeout' | 'exception' | 'crc' | 'frame' | 'disconnected';
export type FailureDetail = 'silence' | 'short' | 'garbled';

export class ModbusFailure extends PasserelleError {
  readonly exceptionCode?: number;
  readonly detail?: FailureDetail;
  /** The transaction ran until the timeout (what a sick device costs the line). */
  readonly timedOut: boolean;

  constructor(
    readonly reason: FailureReason,
    message: string,
    extra: { exceptionCode?: number; detail?: FailureDetail; code?: string; timedOut?: boolean } = {},
  ) {
    super(extra.code ?? `E_MODBUS_${reason.toUpperCase()}`, message, reason !== 'exception');
    this.exceptionCode = extra.exceptionCode;
    this.detail = extra.detail;
    this.timedOut = extra.timedOut ?? reason === 'timeout';
  }

  /** A failure a retry of the same request may cure: nothing or nothing usable came back. */
  get retryableOnLine(): boolean {
    return this.reason === 'timeout' || this.reason === 'crc' || this.reason === 'frame';
  }
}

export type Endpoint =
  | { type: 'tcp'; host: string; port: number }
  | { type: 'serial'; port: string; baud: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 };

export function describeEndpoint(e: Endpoint): string {
  return e.type === 'tcp' ? `${e.host}:${e.port}` : `${e.port} @ ${e.baud} ${e.dataBits}${e.parity[0]!.toUpperCase()}${e.stopBits}`;
}

/** A write request; only write.ts builds these (see there for the safety rules). */
export type WriteRequest =
  | { readonly fn: 5; readonly address: number; readonly value: boolean }
  | { readonly fn: 6 | 16; readonly address: number; readonly values: readonly number[] };

/**
 * One connection as the bus drives it: one transaction at a time. Every failure is a ModbusFailure.
 * connect() may be called again after the link dropped.
 */
export interface ModbusConnection {
  readonly endpoint: Endpoint;
  readonly isOpen: boolean;
  /** performance.now() of the last byte the serial line brought back for the last request; undefined on TCP or silence. */
  readonly lastByteAt: number | undefined;
  connect(timeoutMs: number): Promise<void>;
  read(unit: number, fn: ReadFunction, address: number, count: number, timeoutMs: number): Promise<number[]>;
  write(unit: number, request: WriteRequest, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
