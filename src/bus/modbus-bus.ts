/**
 * A bus owns one physical line (a serial port or a TCP connection) and runs one transaction at a time.
 * Drivers never touch the client: they queue transactions here, so flows never fight over a port.
 *
 * Queue policy: on-demand requests (a technician's read, a write) go before routine polls, but after
 * DEMAND_BURST demand transactions in a row one routine transaction runs, so polling never starves.
 * The queue is bounded (maxQueue): at the bound a new routine request is refused at once with
 * E_BUS_QUEUE_FULL and counted in stats().overflow; it is never silently dropped.
 */
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { ModbusClient, ModbusFailure, describeEndpoint, type Endpoint, type ReadFunction } from './modbus-client.js';

export type Priority = 'demand' | 'routine';

export interface BusOptions {
  readonly id: string;
  readonly endpoint: Endpoint;
  readonly timeoutMs: number;
  readonly maxQueue?: number;
  /** Silence kept between two transactions (RTU t3.5); 0 on TCP. */
  readonly interFrameMs?: number;
  readonly logger: Logger;
  /** For tests: inject a client factory. */
  readonly clientFactory?: (e: Endpoint) => ModbusClient;
}

interface Job {
  readonly priority: Priority;
  readonly run: (client: ModbusClient) => Promise<unknown>;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

const DEMAND_BURST = 4;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

export interface BusStats {
  transactions: number;
  failures: number;
  overflow: number;
  queued: number;
  reconnects: number;
  [k: string]: number;
}

export class ModbusBus {
  private readonly demand: Job[] = [];
  private readonly routine: Job[] = [];
  private demandStreak = 0;
  private running = false;
  private closed = false;
  private client: ModbusClient;
  private nextConnectAt = 0;
  private reconnectDelay = RECONNECT_MIN_MS;
  private readonly counters: BusStats = { transactions: 0, failures: 0, overflow: 0, queued: 0, reconnects: 0 };
  private readonly maxQueue: number;

  constructor(private readonly opts: BusOptions) {
    this.maxQueue = opts.maxQueue ?? 256;
    this.client = (opts.clientFactory ?? ((e) => new ModbusClient(e)))(opts.endpoint);
  }

  get id(): string {
    return this.opts.id;
  }

  read(unit: number, fn: ReadFunction, address: number, count: number, priority: Priority = 'routine', timeoutMs = this.opts.timeoutMs): Promise<number[]> {
    return this.enqueue(priority, (c) => c.read(unit, fn, address, count, timeoutMs));
  }

  /** Writes go through the same queue as reads, as on-demand transactions. */
  writeRegisters(unit: number, address: number, values: number[]): Promise<void> {
    this.opts.logger.info({ bus: this.id, unit, address, values }, 'modbus write');
    return this.enqueue('demand', (c) => c.writeRegisters(unit, address, values, this.opts.timeoutMs));
  }

  stats(): BusStats {
    return { ...this.counters, queued: this.demand.length + this.routine.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    const pending = [...this.demand.splice(0), ...this.routine.splice(0)];
    for (const job of pending) job.reject(new PasserelleError('E_BUS_CLOSED', `bus ${this.id} is closing`));
    await this.client.close();
  }

  private enqueue<T>(priority: Priority, run: (c: ModbusClient) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new PasserelleError('E_BUS_CLOSED', `bus ${this.id} is closed`));
    if (this.demand.length + this.routine.length >= this.maxQueue) {
      this.counters.overflow++;
      return Promise.reject(
        new PasserelleError('E_BUS_QUEUE_FULL', `bus ${this.id}: ${this.maxQueue} transactions already queued; request refused`, true),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { priority, run, resolve: resolve as (v: unknown) => void, reject };
      (priority === 'demand' ? this.demand : this.routine).push(job);
      void this.pump();
    });
  }

  private nextJob(): Job | undefined {
    const preferRoutine = this.demandStreak >= DEMAND_BURST && this.routine.length > 0;
    const job = preferRoutine ? this.routine.shift() : (this.demand.shift() ?? this.routine.shift());
    this.demandStreak = job?.priority === 'demand' ? this.demandStreak + 1 : 0;
    return job;
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let job = this.nextJob(); job && !this.closed; job = this.nextJob()) {
        await this.execute(job);
        if (this.opts.interFrameMs) await sleep(this.opts.interFrameMs);
      }
    } finally {
      this.running = false;
    }
  }

  private async execute(job: Job): Promise<void> {
    try {
      await this.ensureOpen();
      this.counters.transactions++;
      job.resolve(await job.run(this.client));
    } catch (err) {
      this.counters.failures++;
      if (err instanceof ModbusFailure && err.reason === 'disconnected') await this.dropConnection();
      job.reject(err);
    }
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
      this.opts.logger.warn({ bus: this.id, retryInMs: this.nextConnectAt - Date.now() }, (err as Error).message);
      throw err;
    }
  }

  private async dropConnection(): Promise<void> {
    await this.client.close().catch(() => undefined);
    this.client = (this.opts.clientFactory ?? ((e) => new ModbusClient(e)))(this.opts.endpoint);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
