/**
 * The serial side of a Modbus RTU master: a port object modbus-serial drives (`new ModbusRTU(port)`),
 * on `serialport`. modbus-serial checks CRC, exceptions and decodes; this port cuts the reply frame and
 * records what arrived, so a failed transaction can be told apart: silence, a short reply, garbage, or a
 * bad CRC (see Reception).
 *
 * Framing: a reply ends at its expected length, known from the request (RS-485 masters on USB adapters
 * cannot rely on the t3.5 silence: the adapter delivers bytes in bursts). Bytes before a header that
 * matches the request (unit, function or exception) are stray, e.g. the late reply of a device that timed
 * out; they are skipped. Everything received is cleared when the next request is written, so a late reply
 * never passes for a fresh one.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { SerialPort } from 'serialport';
import { describeSerialOpenError } from './serial-errors.js';

/** Largest RTU frame; received bytes beyond it (noise) are dropped from the front. */
const MAX_FRAME = 256;
const EXCEPTION_FRAME = 5;

export interface SerialSettings {
  readonly port: string;
  readonly baud: number;
  readonly parity: 'none' | 'even' | 'odd';
  readonly dataBits: 7 | 8;
  readonly stopBits: 1 | 2;
}

/** What the line brought back for the current request. */
export interface Reception {
  /** Bytes received since the request was written. */
  bytes: number;
  /** Offset of the reply header in what was received; -1 while none matched. */
  headerAt: number;
  /** performance.now() of the last byte received, or of the write when nothing came. */
  lastByteAt: number;
}

interface Expected {
  readonly unit: number;
  readonly fc: number;
  readonly length: number;
}

/** Reply length for the request `data` (unit, fc, ...), or undefined for functions we never send. */
export function expectedReplyLength(data: Buffer): number | undefined {
  const fc = data[1];
  const quantity = data.length >= 6 ? data.readUInt16BE(4) : 0;
  if (fc === 1 || fc === 2) return 5 + Math.ceil(quantity / 8);
  if (fc === 3 || fc === 4) return 5 + 2 * quantity;
  if (fc === 5 || fc === 6 || fc === 15 || fc === 16) return 8;
  return undefined;
}

export class RtuLinePort extends EventEmitter {
  private serial?: SerialPort;
  private buffer: Buffer = Buffer.alloc(0);
  private expected?: Expected;
  reception: Reception = { bytes: 0, headerAt: -1, lastByteAt: 0 };
  /** Set by modbus-serial when it opens the port; RTU runs one transaction at a time, so they stay 1. */
  _transactionIdRead = 1;
  _transactionIdWrite = 1;

  constructor(private readonly settings: SerialSettings) {
    super();
  }

  get isOpen(): boolean {
    return this.serial?.isOpen ?? false;
  }

  open(callback: (err?: Error | null) => void): void {
    const s = this.settings;
    const serial = new SerialPort({ path: s.port, baudRate: s.baud, parity: s.parity, dataBits: s.dataBits, stopBits: s.stopBits, autoOpen: false });
    serial.on('data', (chunk: Buffer) => this.onData(chunk));
    serial.on('error', (e) => this.emit('error', e));
    serial.on('close', () => this.emit('close'));
    serial.open((err) => {
      if (!err) {
        this.serial = serial;
        return callback(null);
      }
      const problem = describeSerialOpenError(s.port, err);
      callback(Object.assign(new Error(problem.message), { code: problem.code }));
    });
  }

  close(callback?: () => void): void {
    const serial = this.serial;
    this.serial = undefined;
    if (!serial?.isOpen) return void callback?.();
    serial.close(() => callback?.());
  }

  write(data: Buffer): void {
    this.buffer = Buffer.alloc(0);
    const length = expectedReplyLength(data);
    this.expected = length === undefined ? undefined : { unit: data[0]!, fc: data[1]!, length };
    this.reception = { bytes: 0, headerAt: -1, lastByteAt: performance.now() };
    this.serial?.write(data);
  }

  private onData(chunk: Buffer): void {
    this.reception.bytes += chunk.length;
    this.reception.lastByteAt = performance.now();
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_FRAME) this.buffer = this.buffer.subarray(this.buffer.length - MAX_FRAME);
    this.emitReply();
  }

  private emitReply(): void {
    const want = this.expected;
    if (!want) return;
    const start = this.findHeader(want);
    if (start < 0) return;
    this.reception.headerAt = start;
    const isException = this.buffer[start + 1] === (want.fc | 0x80);
    const length = isException ? EXCEPTION_FRAME : want.length;
    if (this.buffer.length - start < length) return;
    const frame = this.buffer.subarray(start, start + length);
    this.expected = undefined; // one reply per request: later bytes wait for the next write to clear them
    this.emit('data', Buffer.from(frame));
  }

  private findHeader(want: Expected): number {
    for (let i = 0; i + 1 < this.buffer.length; i++) {
      const fc = this.buffer[i + 1];
      if (this.buffer[i] === want.unit && (fc === want.fc || fc === (want.fc | 0x80))) return i;
    }
    return -1;
  }
}
