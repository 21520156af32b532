/**
 * Modbus RTU simulator: several slaves sharing one serial line, on the device side of a pty pair
 * (createPtyPair in pty.ts), opened with `serialport`.
 *
 * What it models, and how:
 *  - Framing. A request ends when its expected length is reached (functions 1-6, 15, 16: the length is in
 *    the first bytes), or at a silence of t3.5 (floored at MIN_SILENCE_MS for timer granularity) for any
 *    other function. A partial frame followed by that silence is dropped and counted `incomplete`, as a
 *    real slave drops it. Both rules are needed: a real slave cuts frames at the silence, but a pty
 *    delivers bytes bunched, with no silence between two frames written back to back.
 *  - CRC. A frame with a bad CRC is dropped silently (counted `badCrc`), as a real slave does.
 *  - Shared line. Only simulated units answer; a request to any other unit (and a broadcast to unit 0,
 *    not simulated) gets silence, as on RS-485 where the addressed slave alone talks.
 *  - Pacing (paced: true, the default). A pty moves bytes instantly, so the simulator adds the time the
 *    wire would take: the reply is written when, on a real line at `baud`, it would have been received
 *    completely, i.e. at
 *        first request byte + request wire time + t3.5 (the slave detects the end of the frame)
 *        + the profile's turnaroundMs + any 'slow' delay + reply wire time,
 *    with 11 bits per character whatever the parity setting (start, 8 data, parity or 2nd stop, stop).
 *    The master's own t3.5 before its next request is the bus scheduler's business, not the simulator's.
 *    Nothing is ever early (timers are topped up to the exact instant); the event loop adds a fraction of
 *    a millisecond of lateness per reply.
 *    With paced: false the reply is written after turnaroundMs (+ 'slow' delay) only.
 *  - Faults (faults.ts), per unit: silent, slow, exception, bad CRC, garbage, short reply, dropout.
 *  - Late replies are sent anyway: a 'slow' device answers after the master has given up, as a real one
 *    would, and its reply may land in the master's next transaction.
 * Not modelled: collisions and line noise, bytes echoed by a 2-wire adapter, parity errors, the master's
 * baud mismatch (a pty carries bytes whatever termios says), broadcasts.
 */
import { performance } from 'node:perf_hooks';
import { SerialPort } from 'serialport';
import { PasserelleError, errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { hasValidCrc, MAX_RTU_FRAME, requestFrameLength, wireMs, withCrc } from '../drivers/modbus/rtu-frame.js';
import { t35Ms } from '../drivers/modbus/wire-cost.js';
import { corruptRtuFrame, createFaultControl, processingDelayMs, staysSilent, type FaultControl } from './faults.js';
import { answerPdu, createTraffic, exceptionPdu, snapshotTraffic, type SimulatorTraffic } from './modbus-pdu.js';
import { createRegisterBank, type RegisterBank, type SimulatedDevice } from './register-bank.js';

/** Below this a silence cannot be told from timer jitter on a pty. */
const MIN_SILENCE_MS = 2;
/** Replies waiting for their time; beyond this a request is dropped (counted `overrun`). */
const MAX_PENDING_REPLIES = 32;

/** Kept as a name of its own for callers; the same shape as the TCP simulator's devices. */
export type SimulatedRtuDevice = SimulatedDevice;

export interface ModbusRtuSimulatorOptions {
  /** The device side of a pty pair. */
  path: string;
  baud: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  devices: SimulatedRtuDevice[];
  /** Pace replies at the wire time of `baud` (see the file comment). Default true. */
  paced?: boolean;
  logger?: Logger;
}

export interface RtuSimulatorStats extends SimulatorTraffic {
  /** Frames with a valid CRC, any unit. */
  readonly frames: number;
  /** Frames dropped for a bad CRC. */
  readonly badCrc: number;
  /** Partial frames dropped at a silence. */
  readonly incomplete: number;
  /** Requests dropped because MAX_PENDING_REPLIES replies were already waiting. */
  readonly overrun: number;
}

export interface ModbusRtuSimulator {
  readonly banks: Map<number, RegisterBank>;
  readonly faults: FaultControl;
  stats(): RtuSimulatorStats;
  close(): Promise<void>;
}

export async function startModbusRtuSimulator(opts: ModbusRtuSimulatorOptions): Promise<ModbusRtuSimulator> {
  const log = opts.logger ?? silentLogger();
  const banks = new Map<number, RegisterBank>();
  for (const d of opts.devices) {
    if (banks.has(d.unit)) throw new PasserelleError('E_SIM_UNIT', `unit ${d.unit} is simulated twice`);
    banks.set(d.unit, createRegisterBank(d.profile, { seed: d.seed ?? d.unit, unmapped: d.unmapped }));
  }
  const port = await openPort(opts);
  const line = new SimulatedLine(port, banks, opts, log);
  port.on('data', (chunk: Buffer) => line.receive(chunk));
  port.on('error', (e) => log.warn({ err: e.message }, 'rtu simulator port error'));
  log.info({ path: opts.path, baud: opts.baud, units: [...banks.keys()] }, 'modbus rtu simulator listening');
  return {
    banks,
    faults: line.faults,
    stats: () => line.stats(),
    close: async () => {
      line.stop();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}

function openPort(opts: ModbusRtuSimulatorOptions): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort(
      { path: opts.path, baudRate: opts.baud, parity: opts.parity, dataBits: opts.dataBits, stopBits: opts.stopBits, autoOpen: false },
    );
    port.open((err) =>
      err ? reject(new PasserelleError('E_SIM_SERIAL', `the RTU simulator cannot open ${opts.path}: ${errorMessage(err)}`, false, { cause: err })) : resolve(port),
    );
  });
}

/** Receives request frames on one line and answers for every simulated unit on it. */
class SimulatedLine {
  readonly faults = createFaultControl();
  private readonly traffic = createTraffic();
  private readonly counters = { frames: 0, badCrc: 0, incomplete: 0, overrun: 0 };
  /** Bytes of the frame being received; never longer than MAX_RTU_FRAME (longer input is noise: dropped). */
  private pending: Buffer = Buffer.alloc(0);
  /** When the first byte of the pending frame went on the (simulated) wire, performance.now() ms. */
  private frameStartAt = 0;
  private lastChunkAt = 0;
  private silenceTimer?: NodeJS.Timeout;
  private readonly replyTimers = new Set<NodeJS.Timeout>();
  private readonly t35: number;
  private stopped = false;

  constructor(
    private readonly port: SerialPort,
    private readonly banks: Map<number, RegisterBank>,
    private readonly opts: ModbusRtuSimulatorOptions,
    private readonly log: Logger,
  ) {
    this.t35 = t35Ms(opts.baud);
  }

  stats(): RtuSimulatorStats {
    return { ...snapshotTraffic(this.traffic), ...this.counters };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.silenceTimer);
    for (const t of this.replyTimers) clearTimeout(t);
    this.replyTimers.clear();
  }

  receive(chunk: Buffer): void {
    const now = performance.now();
    if (this.pending.length === 0) this.frameStartAt = now;
    this.lastChunkAt = now;
    this.pending = Buffer.concat([this.pending, chunk]);
    this.cutFrames();
    if (this.pending.length > MAX_RTU_FRAME) this.dropPending();
    clearTimeout(this.silenceTimer);
    if (this.pending.length > 0) this.silenceTimer = setTimeout(() => this.onSilence(now), Math.max(MIN_SILENCE_MS, this.t35));
  }

  /** Cuts every complete frame of known length off the front of the pending bytes. */
  private cutFrames(): void {
    for (;;) {
      const length = requestFrameLength(this.pending);
      if (typeof length !== 'number' || this.pending.length < length) return;
      const frame = this.pending.subarray(0, length);
      this.pending = this.pending.subarray(length);
      const startAt = this.frameStartAt;
      // Bunched frames: the next one started on the wire when this one ended.
      this.frameStartAt = startAt + wireMs(length, this.opts.baud);
      this.handleFrame(Buffer.from(frame), startAt);
    }
  }

  /**
   * A silence ends the pending frame. The check runs one event-loop turn later, so bytes the OS already
   * holds (delivered late because the loop was busy) are not mistaken for a new frame.
   */
  private onSilence(chunkAt: number): void {
    setImmediate(() => {
      if (this.stopped || this.lastChunkAt !== chunkAt || this.pending.length === 0) return;
      if (requestFrameLength(this.pending) === 'unknown') {
        const frame = this.pending;
        this.pending = Buffer.alloc(0);
        this.handleFrame(frame, this.frameStartAt);
      } else this.dropPending();
    });
  }

  private dropPending(): void {
    this.counters.incomplete++;
    this.log.debug({ bytes: this.pending.length }, 'rtu simulator dropped an incomplete frame');
    this.pending = Buffer.alloc(0);
  }

  private handleFrame(frame: Buffer, startAt: number): void {
    if (!hasValidCrc(frame)) return void this.counters.badCrc++;
    this.counters.frames++;
    const unit = frame[0]!;
    const fc = frame[1]!;
    this.traffic.request(unit, fc);
    const bank = unit === 0 ? undefined : this.banks.get(unit);
    const fault = bank ? this.faults.active(unit) : undefined;
    if (!bank || staysSilent(fault)) return;
    if (this.replyTimers.size >= MAX_PENDING_REPLIES) return void this.counters.overrun++;
    const pdu = fault?.kind === 'exception' ? exceptionPdu(fc, fault.code) : answerPdu(bank, frame.subarray(1, frame.length - 2));
    const reply = corruptRtuFrame(fault, withCrc(Buffer.concat([Buffer.from([unit]), pdu])), this.counters.frames);
    const processingMs = processingDelayMs(bank.profile.limits.turnaroundMs, fault);
    const sendAt =
      this.opts.paced === false
        ? performance.now() + processingMs
        : startAt + wireMs(frame.length, this.opts.baud) + this.t35 + processingMs + wireMs(reply.length, this.opts.baud);
    this.sendAt(sendAt, () => {
      if (this.stopped || !this.port.isOpen) return;
      this.traffic.reply(unit);
      this.port.write(reply);
    });
  }

  /**
   * Runs `send` at performance.now() >= at, never earlier: Node timers may fire up to 1 ms early, so the
   * last fraction of a millisecond is waited by yielding to the event loop (setImmediate).
   */
  private sendAt(at: number, send: () => void): void {
    const left = at - performance.now();
    if (left <= 0) return send();
    if (left < 1) return void setImmediate(() => this.sendAt(at, send));
    const timer = setTimeout(() => {
      this.replyTimers.delete(timer);
      this.sendAt(at, send);
    }, Math.floor(left));
    this.replyTimers.add(timer);
  }
}
