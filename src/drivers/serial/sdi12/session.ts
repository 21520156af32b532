/**
 * Pure planner of one SDI-12 measurement: it says what to send and how long to wait; the driver does
 * the I/O and reports each reply line or timeout. Flow: `a!` (or `?!` when the address is unknown),
 * optional `aI!`, `aM!`/`aMC!`/`aC!`, wait the announced seconds (aM! ends early on the service
 * request `a`), then `aD0!`, `aD1!`… until the announced number of values is collected.
 */
import { sdi12Acknowledge, sdi12AddressQuery, sdi12Data, sdi12Identify, sdi12Measure } from './commands.js';
import { parseSdi12Response, type Sdi12Expect, type Sdi12Identity } from './response.js';
import { SDI12_BREAK_MS, sdi12ReplyTimeoutMs } from './timing.js';

export interface Sdi12SessionOptions {
  /** Sensor address, or '?' to ask the only sensor on the bus for it first. */
  readonly address: string;
  readonly identify?: boolean;
  readonly crc?: boolean;
  /** aC! instead of aM!: no service request, the full wait always elapses. */
  readonly concurrent?: boolean;
  /** Additional measurement aM1!..aM9!; default 0 (aM!). */
  readonly measureIndex?: number;
  /** Tries per command on timeout or bad reply (default 3, as the SDI-12 retry rule asks). */
  readonly tries?: number;
}

export type Sdi12Step =
  | {
      readonly kind: 'send';
      readonly command: string;
      readonly expect: Sdi12Expect;
      /** Send a break this long first: sensors sleep after 100 ms of idle line, so always wake them. */
      readonly breakMs: number;
      /** Report a timeout if no full reply line arrived within this time. */
      readonly timeoutMs: number;
      readonly attempt: number;
    }
  | { readonly kind: 'wait'; readonly timeoutMs: number; readonly serviceRequest: boolean }
  | { readonly kind: 'done'; readonly address: string; readonly identity?: Sdi12Identity; readonly values: readonly number[] }
  | { readonly kind: 'failed'; readonly code: 'E_SDI12_TIMEOUT' | 'E_SDI12_REPLY' | 'E_SDI12_INCOMPLETE'; readonly message: string };

type Phase = 'address' | 'identify' | 'measure' | 'wait' | 'data';

const MAX_DATA_INDEX = 9;

export class Sdi12Session {
  private address: string;
  private phase: Phase;
  private attempt = 1;
  private dataIndex = 0;
  private expected = 0;
  private identity: Sdi12Identity | undefined;
  private readonly values: number[] = [];
  private readonly tries: number;
  private current: Sdi12Step;

  constructor(private readonly opts: Sdi12SessionOptions) {
    this.address = opts.address;
    this.tries = Math.max(1, opts.tries ?? 3);
    this.phase = 'address';
    // Validates the address and options now: the command builders throw on bad input.
    if (opts.address !== '?') sdi12Acknowledge(opts.address);
    sdi12Measure('0', { concurrent: opts.concurrent, crc: opts.crc, index: opts.measureIndex });
    this.current = this.sendStep();
  }

  /** What to do now. */
  get step(): Sdi12Step {
    return this.current;
  }

  /**
   * A reply line (CR LF stripped) arrived. Returns the next step; while waiting, a line that is not
   * the service request returns the same step object: keep the running timer.
   */
  onLine(line: string): Sdi12Step {
    if (this.current.kind === 'wait') {
      if (this.current.serviceRequest && line === this.address) this.enter('data');
      return this.current;
    }
    if (this.current.kind !== 'send') return this.current;
    const { command, expect } = this.current;
    // Half-duplex adapters may echo our command ahead of the reply; a reply never contains '!'.
    const reply = parseSdi12Response(line.startsWith(command) ? line.slice(command.length) : line, expect, {
      crc: expect === 'data' && this.opts.crc === true,
      ...(this.address === '?' ? {} : { address: this.address }),
    });
    if (!reply.ok) return this.retry('E_SDI12_REPLY', `${reply.message} (${reply.code})`);
    switch (reply.kind) {
      case 'ack':
        this.address = reply.address;
        this.enter(this.opts.identify ? 'identify' : 'measure');
        break;
      case 'identify':
        this.identity = reply;
        this.enter('measure');
        break;
      case 'measure':
        this.onMeasureReply(reply.seconds, reply.count);
        break;
      case 'data':
        this.onDataReply(reply.values);
    }
    return this.current;
  }

  /** The step's timeoutMs elapsed. */
  onTimeout(): Sdi12Step {
    if (this.current.kind === 'wait') {
      // No service request by the announced time: the values are due anyway.
      this.enter('data');
      return this.current;
    }
    if (this.current.kind !== 'send') return this.current;
    return this.retry('E_SDI12_TIMEOUT', `no reply from sensor "${this.address}" to ${this.current.command}`);
  }

  private onMeasureReply(seconds: number, count: number): void {
    this.expected = count;
    if (count === 0) this.finish();
    else if (seconds === 0) this.enter('data');
    else {
      this.phase = 'wait';
      this.current = { kind: 'wait', timeoutMs: seconds * 1000, serviceRequest: !this.opts.concurrent };
    }
  }

  private onDataReply(values: number[]): void {
    if (values.length === 0) {
      this.current = this.failure('E_SDI12_INCOMPLETE', `sensor "${this.address}" sent ${this.values.length} of ${this.expected} values`);
      return;
    }
    for (const v of values) if (this.values.length < this.expected) this.values.push(v);
    if (this.values.length >= this.expected) this.finish();
    else if (this.dataIndex === MAX_DATA_INDEX) {
      this.current = this.failure('E_SDI12_INCOMPLETE', `sensor "${this.address}" sent ${this.values.length} of ${this.expected} values after aD9!`);
    } else {
      this.dataIndex++;
      this.attempt = 1;
      this.current = this.sendStep();
    }
  }

  private retry(code: 'E_SDI12_TIMEOUT' | 'E_SDI12_REPLY', message: string): Sdi12Step {
    if (this.attempt >= this.tries) {
      this.current = this.failure(code, `${message}, after ${this.tries} tries`);
    } else {
      this.attempt++;
      this.current = this.sendStep();
    }
    return this.current;
  }

  private enter(phase: Phase): void {
    this.phase = phase;
    this.attempt = 1;
    if (phase === 'data') this.dataIndex = 0;
    this.current = this.sendStep();
  }

  private finish(): void {
    this.current = { kind: 'done', address: this.address, values: this.values, ...(this.identity ? { identity: this.identity } : {}) };
  }

  private failure(code: Extract<Sdi12Step, { kind: 'failed' }>['code'], message: string): Sdi12Step {
    return { kind: 'failed', code, message };
  }

  private sendStep(): Sdi12Step {
    const [command, expect] = this.commandForPhase();
    return { kind: 'send', command, expect, breakMs: SDI12_BREAK_MS, timeoutMs: sdi12ReplyTimeoutMs(command, expect), attempt: this.attempt };
  }

  private commandForPhase(): [string, Sdi12Expect] {
    const a = this.address;
    switch (this.phase) {
      case 'address':
        return [a === '?' ? sdi12AddressQuery() : sdi12Acknowledge(a), 'ack'];
      case 'identify':
        return [sdi12Identify(a), 'identify'];
      case 'measure':
        return [sdi12Measure(a, { concurrent: this.opts.concurrent, crc: this.opts.crc, index: this.opts.measureIndex }), 'measure'];
      default:
        return [sdi12Data(a, this.dataIndex), 'data'];
    }
  }
}
