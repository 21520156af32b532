/**
 * One serial port for a line protocol driver (TIC, SDI-12, ASCII lines): opens it, hands every chunk
 * to `onData`, and reopens it with capped exponential backoff when it fails to open or disappears
 * (USB adapter unplugged). It never throws into the process: a missing adapter (ENOENT) or a missing
 * dialout group (EACCES) is logged once with what to do, and retried.
 *
 * A pty or some adapters never report that the far end went away; for push protocols `silenceMs`
 * reopens a port that stayed silent that long (a Linky sends a frame every 1-2 s).
 */
import { PasserelleError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { BusConfig } from '../../config/schema.js';
import { describeSerialOpenError } from '../../bus/serial-errors.js';

export interface SerialSettings {
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: 'none' | 'even' | 'odd';
  readonly stopBits: 1 | 2;
}

/** The part of serialport's SerialPort a link uses; a test may inject another implementation. */
export interface SerialPortLike {
  readonly isOpen: boolean;
  open(callback: (err: Error | null) => void): void;
  close(callback?: (err: Error | null) => void): void;
  write(data: Buffer, callback?: (err: Error | null | undefined) => void): boolean;
  drain(callback: (err: Error | null) => void): void;
  set(options: { brk?: boolean }, callback: (err: Error | null) => void): void;
  update(options: { baudRate: number }, callback: (err: Error | null) => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: (err?: Error | null) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeAllListeners(): unknown;
}

export type SerialPortFactory = (settings: SerialSettings) => SerialPortLike;

/**
 * serialport's own factory, imported at the first open: a module once loaded stays for the life of the
 * process, and a gateway without serial lines never needs it.
 */
export async function loadSerialPortFactory(): Promise<SerialPortFactory> {
  const { SerialPort } = await import('serialport');
  return (s) => new SerialPort({ path: s.path, baudRate: s.baudRate, dataBits: s.dataBits, parity: s.parity, stopBits: s.stopBits, autoOpen: false });
}

/** The serial settings of a bus; a line protocol on a TCP bus is a config error. */
export function serialSettingsOf(bus: BusConfig, deviceId: string): SerialSettings {
  if (bus.type !== 'serial') {
    throw new PasserelleError('E_CONFIG_BUS', `device ${deviceId}: bus "${bus.id}" is TCP; serial line protocols need a serial bus`);
  }
  return { path: bus.port, baudRate: bus.baud, dataBits: bus.dataBits, parity: bus.parity, stopBits: bus.stopBits };
}

export interface SerialLinkOptions {
  readonly settings: SerialSettings;
  readonly logger: Logger;
  readonly onData: (chunk: Buffer) => void;
  /** Called after each successful open (e.g. to reset a parser's partial frame). */
  readonly onOpen?: () => void;
  readonly portFactory?: SerialPortFactory;
  /** Reopen a port that delivered no byte for this long; 0 disables (polled protocols). */
  readonly silenceMs?: number;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

export interface SerialLinkStats {
  opens: number;
  openErrors: number;
  disconnects: number;
  silenceReopens: number;
  bytesIn: number;
  bytesOut: number;
  breakUnsupported: number;
}

const DEFAULT_MIN_BACKOFF_MS = 500;
const DEFAULT_MAX_BACKOFF_MS = 30_000;

/** What a technician should do about an open failure (worded in bus/serial-errors.ts, for every tool). */
export function explainOpenError(path: string, err: unknown): string {
  return describeSerialOpenError(path, err).message;
}

export class SerialLink {
  private port: SerialPortLike | undefined;
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastProblem = '';
  private lastByteAt = 0;
  private baudRate: number;
  private readonly counters: SerialLinkStats = { opens: 0, openErrors: 0, disconnects: 0, silenceReopens: 0, bytesIn: 0, bytesOut: 0, breakUnsupported: 0 };

  constructor(private readonly opts: SerialLinkOptions) {
    this.baudRate = opts.settings.baudRate;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  get path(): string {
    return this.opts.settings.path;
  }

  /** Starts opening; resolves after the first attempt, whether it worked or a retry is scheduled. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    clearInterval(this.silenceTimer);
    await this.closePort();
  }

  stats(): SerialLinkStats {
    return { ...this.counters };
  }

  async write(data: Buffer | string): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) throw new PasserelleError('E_SERIAL_CLOSED', `serial port ${this.path} is not open`, true);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    await new Promise<void>((resolve, reject) => port.write(bytes, (err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => port.drain((err) => (err ? reject(err) : resolve())));
    this.counters.bytesOut += bytes.length;
  }

  /**
   * Holds the line in break (spacing) for ms. Returns false when the port cannot do it: a pty
   * answers "Inappropriate ioctl", and some USB adapters ignore breaks; the caller carries on.
   */
  async sendBreak(ms: number): Promise<boolean> {
    const port = this.port;
    if (!port?.isOpen) return false;
    const set = (brk: boolean) => new Promise<boolean>((resolve) => port.set({ brk }, (err) => resolve(!err)));
    if (!(await set(true))) {
      this.counters.breakUnsupported++;
      return false;
    }
    await sleep(ms);
    await set(false);
    return true;
  }

  /** Changes the baud rate (TIC auto-detection); kept across reopens. */
  async setBaudRate(baudRate: number): Promise<void> {
    this.baudRate = baudRate;
    const port = this.port;
    if (!port?.isOpen) return;
    await new Promise<void>((resolve) => port.update({ baudRate }, (err) => {
      if (err) this.opts.logger.warn({ port: this.path, baudRate, err: err.message }, 'cannot change baud rate');
      resolve();
    }));
  }

  get currentBaudRate(): number {
    return this.baudRate;
  }

  private async open(): Promise<void> {
    if (!this.running) return;
    let port: SerialPortLike;
    try {
      const factory = this.opts.portFactory ?? (await loadSerialPortFactory());
      if (!this.running) return;
      port = factory({ ...this.opts.settings, baudRate: this.baudRate });
    } catch (e) {
      return this.openFailed(e);
    }
    const err = await new Promise<Error | null>((resolve) => port.open(resolve));
    if (err) {
      detach(port);
      return this.openFailed(err);
    }
    if (!this.running) {
      await new Promise((resolve) => port.close(() => resolve(undefined)));
      return;
    }
    this.port = port;
    this.counters.opens++;
    if (this.failures > 0 || this.counters.opens > 1) this.opts.logger.info({ port: this.path }, 'serial port open again');
    this.failures = 0;
    this.lastProblem = '';
    this.lastByteAt = Date.now();
    port.on('data', (chunk) => {
      this.lastByteAt = Date.now();
      this.counters.bytesIn += chunk.length;
      this.opts.onData(chunk);
    });
    port.on('error', (e) => this.opts.logger.warn({ port: this.path, err: e.message }, 'serial port error'));
    port.on('close', () => this.onClosed(port, 'disconnected'));
    this.watchSilence();
    this.opts.onOpen?.();
  }

  private openFailed(err: unknown): void {
    this.counters.openErrors++;
    this.failures++;
    const problem = explainOpenError(this.path, err);
    // Log each new problem once, not every retry: a missing adapter must not flood the log.
    if (problem !== this.lastProblem) this.opts.logger.error({ port: this.path }, problem);
    this.lastProblem = problem;
    this.scheduleReopen();
  }

  private scheduleReopen(): void {
    if (!this.running) return;
    const min = this.opts.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    const delay = Math.min(min * 2 ** Math.max(0, this.failures - 1), this.opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.open(), delay);
  }

  private onClosed(port: SerialPortLike, why: 'disconnected' | 'silent'): void {
    if (this.port !== port) return;
    this.port = undefined;
    detach(port);
    clearInterval(this.silenceTimer);
    if (!this.running) return;
    if (why === 'disconnected') this.counters.disconnects++;
    else this.counters.silenceReopens++;
    this.opts.logger.warn({ port: this.path }, why === 'silent' ? 'serial port silent: reopening it' : 'serial port disappeared: reopening it');
    this.failures = 1;
    this.scheduleReopen();
  }

  private watchSilence(): void {
    const silenceMs = this.opts.silenceMs ?? 0;
    if (silenceMs <= 0) return;
    clearInterval(this.silenceTimer);
    this.silenceTimer = setInterval(() => {
      const port = this.port;
      if (!port || Date.now() - this.lastByteAt < silenceMs) return;
      this.onClosed(port, 'silent');
      port.close(() => undefined);
    }, Math.max(100, Math.floor(silenceMs / 4)));
  }

  private async closePort(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port) return;
    detach(port);
    if (port.isOpen) await new Promise((resolve) => port.close(() => resolve(undefined)));
  }
}

/** Forgets a port's listeners but keeps one for 'error': an unhandled 'error' event would kill the process. */
function detach(port: SerialPortLike): void {
  port.removeAllListeners();
  port.on('error', () => undefined);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
