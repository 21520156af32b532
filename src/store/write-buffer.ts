import { errorMessage, isPasserelleError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { Reading } from '../core/types.js';
import type { DropCounts } from './drops.js';

/** What the buffer writes to: the Store. */
export interface WriteTarget {
  appendReadings(readings: readonly Reading[]): void;
  enqueue(message: OutboxMessage): boolean;
  /**
   * Optional: several messages (and the window mark and raw readings, when given) in one transaction;
   * without it they are enqueued one by one and the readings appended apart.
   */
  enqueueAll?(messages: readonly OutboxMessage[], windowsClosedBefore?: number, readings?: readonly Reading[]): unknown;
}

export interface WriteBufferOptions {
  readonly target: WriteTarget;
  /** Raw readings held while the store fails. At the bound the oldest held readings are dropped (counted). */
  readonly maxRawReadings?: number;
  /** Summaries (outbox messages) held while the store fails. At the bound the oldest is dropped (counted). */
  readonly maxMessages?: number;
  /** Pause between two attempts to write what is held. */
  readonly retryMs?: number;
  readonly logger?: Logger;
  /** Called when everything held has been written (e.g. to kick the uplink). */
  readonly onRecovered?: () => void;
}

export const DEFAULT_MAX_HELD_READINGS = 50_000;
export const DEFAULT_MAX_HELD_MESSAGES = 1000;
export const DEFAULT_RETRY_MS = 5000;

/**
 * Sits between the gateway and the store. While the store writes, it passes straight through. When a
 * write fails with a retryable error (disk full, I/O error, lock), what could not be written is held in
 * memory, in order, within two bounds, and retried on a timer; the fault is exposed for the gateway's
 * state until everything held is written. Summaries are retried before raw readings and are dropped
 * only at their own bound. A non-retryable failure (data SQLite refuses) drops that batch, counted.
 */
export class WriteBuffer {
  private rawHeld: Reading[][] = [];
  private rawHeldCount = 0;
  private messagesHeld: OutboxMessage[] = [];
  private lastFault: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private drops = { rawDropped: 0, summariesDropped: 0 };
  private readonly maxRaw: number;
  private readonly maxMessages: number;
  private readonly retryMs: number;
  private readonly logger: Logger;

  constructor(private readonly opts: WriteBufferOptions) {
    this.maxRaw = opts.maxRawReadings ?? DEFAULT_MAX_HELD_READINGS;
    this.maxMessages = opts.maxMessages ?? DEFAULT_MAX_HELD_MESSAGES;
    this.retryMs = opts.retryMs ?? DEFAULT_RETRY_MS;
    this.logger = opts.logger ?? silentLogger();
  }

  appendReadings(readings: readonly Reading[]): void {
    if (readings.length === 0) return;
    if (this.isHolding()) return this.holdRaw([...readings]);
    this.attempt(() => this.opts.target.appendReadings(readings), () => this.holdRaw([...readings]), () => {
      this.drops.rawDropped += readings.length;
    });
  }

  enqueue(message: OutboxMessage): void {
    if (this.isHolding()) return this.holdMessage(message);
    this.attempt(() => this.opts.target.enqueue(message), () => this.holdMessage(message), () => {
      this.drops.summariesDropped += 1;
    });
  }

  /**
   * A window's messages in one store transaction when the target can (fewer commits and syncs), with the
   * window mark when given, and the raw readings given (the gateway's batch: one commit per window).
   * Returns true when the messages and the mark were written together; the mark is never written without
   * them (messages held in memory belong to windows still to rebuild).
   */
  enqueueAll(messages: readonly OutboxMessage[], windowsClosedBefore?: number, readings: readonly Reading[] = []): boolean {
    const target = this.opts.target;
    if (messages.length === 0 || !target.enqueueAll) {
      messages.forEach((m) => this.enqueue(m));
      this.appendReadings(readings);
      return false;
    }
    if (this.isHolding()) {
      messages.forEach((m) => this.holdMessage(m));
      if (readings.length > 0) this.holdRaw([...readings]);
      return false;
    }
    if (readings.length === 0) {
      return this.attempt(() => target.enqueueAll!(messages, windowsClosedBefore), () => messages.forEach((m) => this.holdMessage(m)), () => {
        this.drops.summariesDropped += messages.length;
      });
    }
    try {
      target.enqueueAll(messages, windowsClosedBefore, readings);
      return true;
    } catch (e) {
      if (isRetryable(e)) {
        this.onFault(e);
        messages.forEach((m) => this.holdMessage(m));
        this.holdRaw([...readings]);
        return false;
      }
      // Data the store refuses costs only its own part: the summaries and the readings are tried apart.
      this.logger.warn({ err: errorMessage(e) }, 'store refused a window with its raw readings; writing them apart');
    }
    this.appendReadings(readings);
    return this.enqueueAll(messages, windowsClosedBefore);
  }

  /** The store fault while something is held, for the gateway's state; undefined when all is written. */
  fault(): string | undefined {
    return this.lastFault;
  }

  held(): { readings: number; messages: number } {
    return { readings: this.rawHeldCount, messages: this.messagesHeld.length };
  }

  /** Drops made here (at the memory bounds) since the last call; add them to the store's own counts. */
  takeDropCounts(): DropCounts {
    const taken = this.drops;
    this.drops = { rawDropped: 0, summariesDropped: 0 };
    return taken;
  }

  /** Writes what is held, summaries first; returns true when nothing is left. The timer calls this too. */
  retryNow(): boolean {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.messagesHeld.length > 0) {
      const message = this.messagesHeld[0]!;
      if (!this.writeHeld(() => this.opts.target.enqueue(message), () => (this.drops.summariesDropped += 1))) return false;
      this.messagesHeld.shift();
    }
    while (this.rawHeld.length > 0) {
      const batch = this.rawHeld[0]!;
      if (!this.writeHeld(() => this.opts.target.appendReadings(batch), () => (this.drops.rawDropped += batch.length))) return false;
      this.rawHeld.shift();
      this.rawHeldCount -= batch.length;
    }
    if (this.lastFault !== undefined) {
      this.logger.warn({ fault: this.lastFault }, 'store writable again; held readings and summaries written');
      this.lastFault = undefined;
      this.opts.onRecovered?.();
    }
    return true;
  }

  /** Stops the retry timer; what is still held stays held (call retryNow() first at shutdown). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private isHolding(): boolean {
    return this.rawHeld.length > 0 || this.messagesHeld.length > 0;
  }

  /** One write; on a retryable error hold it, on any other drop it (counted). True when written. */
  private attempt(write: () => unknown, hold: () => void, drop: () => void): boolean {
    try {
      write();
      return true;
    } catch (e) {
      if (isRetryable(e)) {
        this.onFault(e);
        hold();
      } else {
        drop();
        this.logger.error({ err: errorMessage(e) }, 'store refused data; dropped');
      }
      return false;
    }
  }

  /** false: still failing, keep it held and retry later. true: written, or dropped as unwritable. */
  private writeHeld(write: () => unknown, drop: () => void): boolean {
    try {
      write();
      return true;
    } catch (e) {
      if (!isRetryable(e)) {
        drop();
        this.logger.error({ err: errorMessage(e) }, 'store refused held data; dropped');
        return true;
      }
      this.onFault(e);
      return false;
    }
  }

  private onFault(e: unknown): void {
    const message = errorMessage(e);
    if (message !== this.lastFault) this.logger.error({ err: message, retryMs: this.retryMs }, 'store write failed; holding data in memory');
    this.lastFault = message;
    this.timer ??= setTimeout(() => this.retryNow(), this.retryMs);
    this.timer.unref?.();
  }

  /** Bound: beyond maxRawReadings the oldest held batches (then readings) go first. */
  private holdRaw(batch: Reading[]): void {
    this.rawHeld.push(batch);
    this.rawHeldCount += batch.length;
    while (this.rawHeldCount > this.maxRaw) {
      const oldest = this.rawHeld[0]!;
      const excess = this.rawHeldCount - this.maxRaw;
      if (excess >= oldest.length) {
        this.rawHeld.shift();
        this.rawHeldCount -= oldest.length;
        this.drops.rawDropped += oldest.length;
      } else {
        oldest.splice(0, excess);
        this.rawHeldCount -= excess;
        this.drops.rawDropped += excess;
      }
    }
  }

  /** Bound: beyond maxMessages the oldest held summary is dropped. */
  private holdMessage(message: OutboxMessage): void {
    this.messagesHeld.push(message);
    while (this.messagesHeld.length > this.maxMessages) {
      this.messagesHeld.shift();
      this.drops.summariesDropped += 1;
    }
  }
}

const isRetryable = (e: unknown): boolean => isPasserelleError(e) && e.retryable;
