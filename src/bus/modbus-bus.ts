/**
 * A bus owns one physical line (a serial port or a TCP connection): ONE client (modbus-serial on serial, ours on TCP) shared by
 * every device on the line, and one transaction at a time. Drivers never touch the client: they queue
 * transactions here, so flows never fight over a port.
 *
 * Rules (docs/modbus.md explains them):
 *  - Silence: on RTU the line stays quiet for interFrameMs (t3.5) after the end of each transaction before
 *    the next request starts; the wait is measured from that end, so time already spent elsewhere counts.
 *  - Priority: on-demand requests (a technician's read, a write) go before routine polls, but after
 *    DEMAND_BURST demand transactions in a row one routine transaction runs, so polling never starves.
 *  - Bound: at most maxQueue transactions wait; at the bound a new request is refused at once with
 *    E_BUS_QUEUE_FULL, counted in stats().overflow and logged; it is never silently dropped.
 *  - Retries: a read that timed out or came back corrupt (CRC, short, garbled) is sent again up to
 *    `retries` times, inside the same turn on the line. Exceptions are answers: never retried. Writes are
 *    never retried (the device may have applied the first one).
 */
import { performance } from 'node:perf_hooks';
import { PasserelleError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { classifyError } from './classify-error.js';
import { ModbusFailure, describeEndpoint, type Endpoint, type ModbusConnection, type ReadFunction, type WriteRequest } from './modbus-failure.js';
import { DeferredSerialClient } from './serial-client.js';
import { ModbusTcpClient } from './tcp-client.js';
import { countFailure, emptyUnitStats, type UnitStats } from './unit-stats.js';
import { waitUntil } from './wait-until.js';

export type Priority = 'demand' | 'routine';

export interface BusOptions {
  readonly id: string;
  readonly endpoint: Endpoint;
  readonly timeoutMs: number;
  /** Extra attempts of a read after a timeout or a corrupt reply. Default 0. */
  readonly retries?: number;
  readonly maxQueue?: number;
  /** Silence kept between two transactions (RTU t3.5); 0 on TCP. */
  readonly interFrameMs?: number;
  readonly logger: Logger;
  /** For tests: inject a client factory. */
  readonly clientFactory?: (e: Endpoint) => ModbusConnection;
}

export interface ReadOptions {
  readonly priority?: Priority;
  readonly timeoutMs?: number;
  /** Overrides the bus's retries, e.g. 0 for the single probe of a backed-off device. */
  readonly retries?: number;
}

/** A read carries its request (no closure per poll); a write its own `run`. */
interface Job {
  readonly unit: number;
  readonly priority: Priority;
  readonly retries: number;
  readonly fn: ReadFunction;
  readonly address: number;
  readonly count: number;
  readonly timeoutMs: number;
  readonly run?: (client: ModbusConnection) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

const NO_OPTIONS: ReadOptions = {};
const unset = (): void => undefined;

const DEMAND_BURST = 4;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/** Overflow is logged the first time, then once per this many refusals (the counter has them all). */
const OVERFLOW_LOG_EVERY = 100;

export interface BusStats {
  /** Transactions put on the line (retries included). */
  transactions: number;
  /** Jobs that ended in failure after their retries. */
  failures: number;
  retries: number;
  /** Requests refused because the queue was full. */
  overflow: number;
  queued: number;
  reconnects: number;
  /** Per unit id. */
  units: Record<number, UnitStats>;
}

export class ModbusBus {
  private readonly demand: Job[] = [];
  private readonly routine: Job[] = [];
  private demandStreak = 0;
  private running = false;
  private closed = false;
  private client: ModbusConnection;
  private nextConnectAt = 0;
  private reconnectDelay = RECONNECT_MIN_MS;
  /** performance.now() before which no request may start (end of the last transaction + t3.5). */
  private lineFreeAt = 0;
  private readonly counters = { transactions: 0, failures: 0, retries: 0, overflow: 0, reconnects: 0 };
  /** When the job being executed started (performance.now()), for the watchdog's hung-bus check. */
  private busySince?: number;
  private readonly units = new Map<number, UnitStats>();
  private readonly maxQueue: number;
  /**
   * The silence kept after each transaction (RTU t3.5), 0 on TCP. At 0 the line is free the moment a
   * transaction ends, so the clock is not read for it: four performance.now() calls per request fewer.
   */
  private readonly silenceMs: number;

  constructor(private readonly opts: BusOptions) {
    this.maxQueue = opts.maxQueue ?? 256;
    this.silenceMs = opts.interFrameMs ?? 0;
    this.client = this.newClient();
  }

  get id(): string {
    return this.opts.id;
  }

  get endpoint(): Endpoint {
    return this.opts.endpoint;
  }

  /** A read through the queue; retried (timeouts, CRC) per `options.retries`, else the bus setting. */
  read(unit: number, fn: ReadFunction, address: number, count: number, options: ReadOptions = NO_OPTIONS): Promise<number[]> {
    return this.enqueue({
      unit,
      priority: options.priority ?? 'routine',
      retries: options.retries ?? this.opts.retries ?? 0,
      fn,
      address,
      count,
      timeoutMs: options.timeoutMs ?? this.opts.timeoutMs,
      resolve: unset,
      reject: unset,
    });
  }

  /**
   * An on-demand write, never retried. Only write.ts calls this, after checking that the point is declared
   * writable; the bus logs every write it sends.
   */
  write(unit: number, request: WriteRequest): Promise<void> {
    const run = async (c: ModbusConnection): Promise<void> => {
      this.opts.logger.info({ unit, ...request }, 'modbus write');
      await c.write(unit, request, this.opts.timeoutMs);
    };
    const { timeoutMs } = this.opts;
    return this.enqueue({ unit, priority: 'demand', retries: 0, fn: 3, address: 0, count: 0, timeoutMs, run, resolve: unset, reject: unset });
  }

  stats(): BusStats {
    return {
      ...this.counters,
      queued: this.demand.length + this.routine.length,
      units: Object.fromEntries([...this.units].map(([unit, s]) => [unit, structuredClone(s)])),
    };
  }

  /** How long the current job has been running, 0 when idle: a bus past its timeouts has hung. */
  busyForMs(now = performance.now()): number {
    return this.busySince === undefined ? 0 : now - this.busySince;
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.demand.splice(0), ...this.routine.splice(0)];
    for (const job of pending) job.reject(new PasserelleError('E_BUS_CLOSED', `bus ${this.id} is closing`));
    await this.client.close();
  }

  private newClient(): ModbusConnection {
    return (this.opts.clientFactory ?? defaultClient)(this.opts.endpoint);
  }

  private unitStats(unit: number): UnitStats {
    let s = this.units.get(unit);
    if (!s) this.units.set(unit, (s = emptyUnitStats()));
    return s;
  }

  private enqueue<T>(job: Job): Promise<T> {
    if (this.closed) return Promise.reject(new PasserelleError('E_BUS_CLOSED', `bus ${this.id} is closed`));
    if (this.demand.length + this.routine.length >= this.maxQueue) return Promise.reject(this.overflow());
    return new Promise<T>((resolve, reject) => {
      job.resolve = resolve as (v: unknown) => void;
      job.reject = reject;
      (job.priority === 'demand' ? this.demand : this.routine).push(job);
      this.pump();
    });
  }

  private overflow(): PasserelleError {
    this.counters.overflow++;
    if (this.counters.overflow % OVERFLOW_LOG_EVERY === 1)
      this.opts.logger.warn({ overflow: this.counters.overflow, maxQueue: this.maxQueue }, 'bus queue full; requests refused');
    return new PasserelleError('E_BUS_QUEUE_FULL', `bus ${this.id}: ${this.maxQueue} transactions already queued; request refused`, true);
  }

  private nextJob(): Job | undefined {
    const preferRoutine = this.demandStreak >= DEMAND_BURST && this.routine.length > 0;
    const job = preferRoutine ? this.routine.shift() : (this.demand.shift() ?? this.routine.shift());
    this.demandStreak = job?.priority === 'demand' ? this.demandStreak + 1 : 0;
    return job;
  }

  /**
   * Starts the next job when the line is free. Jobs run as callbacks on the transaction's promise, not as
   * async functions awaiting each other: each await layer cost a promise and a microtask turn per request.
   */
  private pump(): void {
    if (this.running || this.closed || this.demand.length + this.routine.length === 0) return;
    this.running = true;
    // The next job is chosen once the line is silent: a demand queued during the silence still goes first.
    if (this.silenceMs > 0 && performance.now() < this.lineFreeAt) void waitUntil(this.lineFreeAt).then(() => this.startNext());
    else this.startNext();
  }

  private startNext(): void {
    const job = this.closed ? undefined : this.nextJob();
    if (!job) return void (this.running = false);
    this.busySince = performance.now();
    this.attempt(job, 0);
  }

  /**
   * One attempt of a job, after the line's silence and with the link open. The bus is idle again the
   * moment a job settles (finish), before its caller resumes.
   */
  private attempt(job: Job, attempt: number): void {
    if ((this.silenceMs === 0 || performance.now() >= this.lineFreeAt) && this.client.isOpen) return this.send(job, attempt);
    this.prepareLine().then(
      () => this.send(job, attempt),
      (err: unknown) => {
        this.unitStats(job.unit).unavailable++;
        this.counters.failures++;
        this.finish(job, false, err);
      },
    );
  }

  private async prepareLine(): Promise<void> {
    await waitUntil(this.lineFreeAt);
    await this.ensureOpen();
  }

  private send(job: Job, attempt: number): void {
    const stats = this.unitStats(job.unit);
    const startedAt = this.silenceMs > 0 ? performance.now() : 0;
    this.counters.transactions++;
    stats.requests++;
    if (attempt > 0) (stats.retries++, this.counters.retries++);
    const client = this.client;
    let transaction: Promise<unknown>;
    try {
      transaction = job.run ? job.run(client) : client.read(job.unit, job.fn, job.address, job.count, job.timeoutMs);
    } catch (err) {
      transaction = Promise.reject(err);
    }
    transaction.then(
      (result) => {
        if (this.silenceMs > 0) this.lineFreeAt = this.endOfTransaction(startedAt) + this.silenceMs;
        stats.ok++;
        this.finish(job, true, result);
      },
      (err: unknown) => {
        if (this.silenceMs > 0) this.lineFreeAt = this.endOfTransaction(startedAt) + this.silenceMs;
        const failure = err instanceof ModbusFailure ? err : classifyError(err);
        countFailure(stats, failure);
        if (failure.retryableOnLine && attempt < job.retries && !this.closed) return this.attempt(job, attempt + 1);
        this.counters.failures++;
        if (failure.reason !== 'disconnected') return this.finish(job, false, failure);
        const settle = (): void => this.finish(job, false, failure);
        this.dropConnection().then(settle, settle);
      },
    );
  }

  private finish(job: Job, ok: boolean, outcome: unknown): void {
    this.busySince = undefined;
    this.running = false;
    if (ok) job.resolve(outcome);
    else job.reject(outcome);
    this.pump();
  }

  /** The last byte received for this transaction (serial), else now: the silence counts from there. */
  private endOfTransaction(startedAt: number): number {
    const lastByte = this.client.lastByteAt;
    return lastByte !== undefined && lastByte >= startedAt ? lastByte : performance.now();
  }

  private async ensureOpen(): Promise<void> {
    if (this.client.isOpen) return;
    const now = Date.now();
    if (now < this.nextConnectAt)
      throw new ModbusFailure('disconnected', `${describeEndpoint(this.opts.endpoint)} unreachable; next attempt in ${this.nextConnectAt - now} ms`);
    try {
      await this.client.connect(this.opts.timeoutMs);
      this.reconnectDelay = RECONNECT_MIN_MS;
    } catch (err) {
      this.counters.reconnects++;
      this.nextConnectAt = Date.now() + this.reconnectDelay;
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
      this.opts.logger.warn({ retryInMs: this.nextConnectAt - Date.now() }, errorMessage(err));
      throw err;
    }
  }

  private async dropConnection(): Promise<void> {
    await this.client.close().catch(() => undefined);
    this.client = this.newClient();
  }
}

/** Our own client on TCP (tcp-client.ts says why), modbus-serial on serial lines (loaded at their first connect). */
const defaultClient = (e: Endpoint): ModbusConnection => (e.type === 'tcp' ? new ModbusTcpClient(e) : new DeferredSerialClient(e));
