import Database from 'better-sqlite3-multiple-ciphers';
import { PasserelleError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Outbox, OutboxMessage } from '../core/outbox.js';
import { dayIn, emptyFigures, mergeFigures, type LedgerDay, type LedgerDelta, type LedgerFigures } from '../core/ledger.js';
import type { DataClass, Reading } from '../core/types.js';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_OUTBOX_BYTES, enforceOutboxCap, enforceSizeCap, releaseFreePagesIfMany, usedBytes, type SizeLimits, type Tables } from './bounds.js';
import { assertCipher, type StoreCipher } from './cipher.js';
import { DropCounters, type DropCounts } from './drops.js';
import { storeError } from './errors.js';
import { resolveKeySource } from './key-source.js';
import { LedgerTable, type LedgerPolicy } from './ledger.js';
import { OutboxTable, type OutboxEntry } from './outbox.js';
import { ReadingsTable, type PointClasses } from './readings.js';
import { DEFAULT_DELIVERED_GRACE_MS, deleteExpired, purgeExpired, type PurgeReport, type RetentionPolicy } from './retention.js';
import { migrate } from './schema.js';
import { WindowMark } from './window-mark.js';
import { BUSY_TIMEOUT_MS, fileSize, unlock } from './unlock.js';

export interface StoreOptions {
  /** SQLite database file; created (mode 0600, directory 0700) on first start. */
  readonly path: string;
  /** 256-bit key file; created on first start, refused when readable by others. A systemd credential wins (key-source.ts). */
  readonly keyFile: string;
  /** Default chacha20: fast on ARM boards without AES instructions. */
  readonly cipher?: StoreCipher;
  readonly logger?: Logger;
  /** Data class of each point (`device.point`), for retention per class. */
  readonly pointClasses?: PointClasses;
  /** Raw retention per data class in ms (config store.retention); default 7 days. */
  readonly retention?: Readonly<Partial<Record<DataClass, number>>>;
  /** How long delivered summaries stay as the local audit trail; default 7 days. */
  readonly deliveredGraceMs?: number;
  /** Size cap of the database; at the cap the oldest raw readings go first. Default 512 MiB. */
  readonly maxBytes?: number;
  /** Second cap, pending summaries only: beyond it the oldest undelivered summary is dropped. Default 64 MiB. */
  readonly maxOutboxBytes?: number;
  /** Environment holding $CREDENTIALS_DIRECTORY (systemd); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Clock for delivered_at and retention; default Date.now. */
  readonly now?: () => number;
  /** The site's time zone (IANA), for the days of the daily ledger; default UTC. */
  readonly timeZone?: string;
}

/** A retention run inside a commit: when, and what it deleted. */
type RetentionRun = PurgeReport & { readonly at: number };

/** What may be shown about a store: never the key. */
export interface StoreInfo {
  readonly path: string;
  readonly cipher: StoreCipher | 'none';
  readonly schemaVersion: number;
}

/** The size cap is checked every this many appended batches: cheap (header fields), but not free. */
const SIZE_CHECK_EVERY_BATCHES = 8;
/**
 * Retention runs at most this often, inside the next data commit (a window's batch); applyRetention()
 * runs it on demand. Hourly: a run may rewrite the batch straddling a cutoff, so running it more often
 * would cost flash writes for readings kept at most an hour too long.
 */
const RETENTION_EVERY_MS = 3_600_000;
/** Acknowledgements held in memory beyond this are written at once (they ride on the next commit otherwise). */
const MAX_DEFERRED_ACKS = 1000;
/** The write-ahead log is truncated back to this after a checkpoint: bounds its disk use between checkpoints. */
const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;

/**
 * Raw readings and the outbox in one encrypted SQLite file (whole-database encryption, WAL journal,
 * also encrypted). Uplink code receives it as an `Outbox` only. Bounded: see bounds.ts and retention.ts.
 */
export class Store implements Outbox {
  private readonly tables: Tables;
  private readonly readings: ReadingsTable;
  private readonly outbox: OutboxTable;
  private readonly drops: DropCounters;
  private readonly mark: WindowMark;
  private readonly limits: SizeLimits;
  private readonly retention: RetentionPolicy;
  private readonly now: () => number;
  private batchesSinceSizeCheck = 0;
  /**
   * Broker acknowledgements not yet written: id -> delivery time. They are written with the next commit
   * (raw batch, summary, close) rather than one commit each; meanwhile peek, count and the audit trail
   * already see them. A power cut loses them: those messages are sent again under the same id.
   */
  private readonly deferredAcks = new Map<string, number>();
  private readonly commit: (body: () => unknown) => unknown;
  /** The periodic retention in a savepoint of the current commit: undone alone when it fails. */
  private readonly purgeInCommit: (now: number) => PurgeReport;
  private lastRetentionAt = -Infinity;
  private readonly ledger: LedgerTable;
  private readonly dayOf: (ts: number) => string;
  /**
   * Ledger figures not written yet, per day (a handful of days at most, a few points each). Written
   * inside the commit that follows a window close (noteLedger), never in a commit of their own; a power
   * cut loses what was counted since the last window close.
   */
  private ledgerPending = new Map<string, LedgerFigures>();
  private pendingPolicies: { hash: string; day: string; json: string }[] = [];
  private ledgerDue = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly info: StoreInfo,
    private readonly logger: Logger,
    opts: StoreOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.readings = new ReadingsTable(db, opts.pointClasses ?? new Map());
    this.outbox = new OutboxTable(db, this.now);
    this.drops = new DropCounters(db);
    this.mark = new WindowMark(db);
    this.tables = { db, readings: this.readings, outbox: this.outbox, drops: this.drops };
    this.limits = { maxBytes: opts.maxBytes ?? DEFAULT_MAX_BYTES, maxOutboxBytes: opts.maxOutboxBytes ?? DEFAULT_MAX_OUTBOX_BYTES };
    this.retention = { byClass: opts.retention ?? {}, deliveredGraceMs: opts.deliveredGraceMs ?? DEFAULT_DELIVERED_GRACE_MS };
    this.ledger = new LedgerTable(db);
    this.dayOf = dayIn(opts.timeZone ?? 'UTC');
    this.commit = db.transaction((body: () => unknown) => {
      for (const [id, at] of this.deferredAcks) this.outbox.ack(id, at);
      const result = body();
      if (this.ledgerDue) this.writeLedger();
      return result;
    });
    this.purgeInCommit = db.transaction((now: number) => {
      const report = deleteExpired(this.readings, this.outbox, this.retention, now);
      if (report.readings + report.delivered > 0) releaseFreePagesIfMany(db);
      return report;
    });
  }

  static open(opts: StoreOptions): Store {
    const cipher = opts.cipher ?? 'chacha20';
    assertCipher(cipher);
    const logger = opts.logger ?? silentLogger();
    const db = unlock(opts.path, resolveKeySource(opts.keyFile, opts.env), cipher, logger);
    return Store.prepare(db, { path: opts.path, cipher }, logger, opts);
  }

  /**
   * An UNENCRYPTED store, for benchmarks (encrypted next to plain) and tests that must see bytes on disk.
   * No configuration reaches this: the gateway always calls open().
   */
  static openUnencrypted(opts: Omit<StoreOptions, 'keyFile' | 'cipher' | 'env'>): Store {
    let db: Database.Database;
    try {
      db = new Database(opts.path, { timeout: BUSY_TIMEOUT_MS });
    } catch (e) {
      throw storeError('open', opts.path, e);
    }
    return Store.prepare(db, { path: opts.path, cipher: 'none' }, opts.logger ?? silentLogger(), opts);
  }

  private static prepare(db: Database.Database, where: Omit<StoreInfo, 'schemaVersion'>, logger: Logger, opts: StoreOptions | Omit<StoreOptions, 'keyFile'>): Store {
    try {
      configure(db);
      const schemaVersion = migrate(db, logger);
      logger.info({ ...where, schemaVersion }, 'store opened');
      return new Store(db, { ...where, schemaVersion }, logger, opts as StoreOptions);
    } catch (e) {
      db.close();
      throw storeError('open', where.path, e);
    }
  }

  /**
   * One transaction per batch, which also carries the retention about once an hour. Every
   * SIZE_CHECK_EVERY_BATCHES batches the size cap is enforced; failures of either are logged, never
   * thrown: the batch is stored.
   */
  appendReadings(readings: readonly Reading[]): void {
    let purged: RetentionRun | undefined;
    this.run('append readings', () =>
      this.write(() => {
        this.readings.append(readings);
        purged = this.retentionIfDue();
      }),
    );
    this.noteRetention(purged);
    this.countInLedger(this.now(), { readingsKept: readings.length });
    this.maintainQuietly();
  }

  readingCount(): number {
    return this.run('count readings', () => this.readings.count());
  }

  /** Readings with from <= ts < to, oldest first, bounded (see MAX_READINGS_PER_QUERY). For local tools. */
  readingsBetween(from: number, to: number, limit: number): Reading[] {
    return this.run('read readings', () => this.readings.between(from, to, limit));
  }

  /** Deletes readings sampled before ts, whatever their class; returns how many. */
  purgeReadingsBefore(ts: number): number {
    return this.run('purge readings', () => this.readings.purgeBefore(ts));
  }

  /** Past the outbox cap, the oldest pending summaries are dropped (and counted) to make room. */
  enqueue(message: OutboxMessage): boolean {
    return this.run('enqueue', () =>
      this.write(() => {
        enforceOutboxCap(this.tables, this.limits, message.payload.length, this.logger);
        return this.outbox.enqueue(message);
      }),
    );
  }

  /**
   * Several messages in one transaction (one commit, one sync: a window's summary parts and health),
   * with the window mark when given: a crash can never leave summaries in the outbox without the mark
   * that says their windows are done, nor cost a commit of its own. Raw readings given ride on the same
   * commit (the gateway's batch when a window closes: one commit per window instead of two).
   */
  enqueueAll(messages: readonly OutboxMessage[], windowsClosedBefore?: number, readings: readonly Reading[] = []): boolean[] {
    let purged: RetentionRun | undefined;
    const queued = this.run('enqueue', () =>
      this.write(() => {
        if (readings.length > 0) this.readings.append(readings);
        purged = this.retentionIfDue();
        const queued = messages.map((message) => {
          enforceOutboxCap(this.tables, this.limits, message.payload.length, this.logger);
          return this.outbox.enqueue(message);
        });
        if (windowsClosedBefore !== undefined) this.mark.setClosedBefore(windowsClosedBefore);
        return queued;
      }),
    );
    this.noteRetention(purged);
    if (readings.length > 0) {
      this.countInLedger(this.now(), { readingsKept: readings.length });
      this.maintainQuietly();
    }
    return queued;
  }

  peek(limit: number): OutboxMessage[] {
    return this.run('peek', () => {
      const skip = this.deferredAcks.size;
      const rows = skip === 0 ? this.outbox.peek(limit) : this.outbox.peek(limit + skip).filter((m) => !this.deferredAcks.has(m.id));
      return rows.slice(0, Math.max(0, Math.floor(limit)));
    });
  }

  /**
   * On start: pending messages built under another site policy (or before policies were recorded) are
   * deleted and counted as dropped summaries, so a tightened policy is never bypassed by a backlog.
   */
  dropPendingNotUnder(policy: string): number {
    // write(): acknowledgements still in memory are written first, so a delivered message is never dropped.
    return this.run('drop messages of another policy', () =>
      this.write(() => {
        const n = this.outbox.dropPendingNotUnder(policy);
        this.drops.add('summary', n);
        return n;
      }),
    );
  }

  /**
   * Marks the message delivered (kept for the audit grace period); peek and count no longer see it.
   * Written with the next commit (see deferredAcks); unknown or already delivered ids are ignored.
   */
  ack(id: string): void {
    this.run('ack', () => {
      if (this.deferredAcks.has(id)) return;
      const bytes = this.outbox.pendingSize(id);
      if (bytes === undefined) return;
      const now = this.now();
      this.deferredAcks.set(id, now);
      this.countInLedger(now, { messagesSent: 1, bytesSent: bytes });
      if (this.deferredAcks.size >= MAX_DEFERRED_ACKS) this.write(() => undefined);
    });
  }

  /**
   * Sets aside a message the broker refused for good: written at once (a rare event, and a resend after a
   * restart would be refused again), counted, kept for the audit grace period like a delivered one.
   */
  refuse(id: string, reasonCode: number): void {
    this.run('refuse', () => {
      if (this.deferredAcks.has(id)) return;
      const now = this.now();
      if (this.write(() => this.outbox.refuse(id, reasonCode, now))) this.countInLedger(now, { messagesRefused: 1 });
    });
  }

  /** Messages the broker refused for good, still kept for the audit trail. */
  refusedCount(): number {
    return this.run('count refused', () => this.outbox.refusedCount());
  }

  /** Pending (undelivered) messages. */
  count(): number {
    return this.run('count', () => this.outbox.count() - this.deferredAcks.size);
  }

  /** The audit trail: pending and delivered messages, oldest first, bounded (MAX_ENTRIES_PER_QUERY). */
  outboxEntries(limit: number): OutboxEntry[] {
    return this.run('list outbox', () =>
      this.outbox.entries(limit).map((e) => {
        const at = this.deferredAcks.get(e.id);
        return at === undefined ? e : { ...e, deliveredAt: at };
      }),
    );
  }

  /** Every window ending at or before this instant was summarised (see window-mark.ts); undefined at first. */
  windowsClosedBefore(): number | undefined {
    return this.run('read window mark', () => this.mark.closedBefore());
  }

  markWindowsClosedBefore(ts: number): void {
    this.run('write window mark', () => this.mark.setClosedBefore(ts));
  }

  /** Sampling time of the newest stored raw reading; undefined when there is none. */
  lastReadingTs(): number | undefined {
    return this.run('read last reading', () => this.mark.lastReadingTs());
  }

  /**
   * A remote-config trial's store probe: `value` written as the canary row in one commit (synced like
   * any write), then read back from the database. One row, overwritten each trial.
   */
  writeCanary(value: number): number | undefined {
    return this.run('write and read back the trial canary', () => {
      this.write(() => this.mark.setCanary(value));
      return this.mark.canary();
    });
  }

  /** The last trial canary written (undefined before the first trial). */
  readCanary(): number | undefined {
    return this.run('read the trial canary', () => this.mark.canary());
  }

  /** Whether the outbox holds a message with this id, pending or delivered (audit trail). */
  hasMessage(id: string): boolean {
    return this.run('find message', () => this.mark.hasMessage(id));
  }

  /**
   * Runs the retention now, deletion made real at once (freed pages zeroed, log checkpointed and
   * truncated: retention.ts). It also runs about once an hour inside a data commit, more soberly.
   */
  applyRetention(now: number = this.now()): PurgeReport {
    if (this.deferredAcks.size > 0) this.run('ack', () => this.write(() => undefined)); // delivered times count
    const report = this.run('retention', () => purgeExpired(this.db, this.readings, this.outbox, this.retention, now));
    this.lastRetentionAt = now;
    this.countInLedger(now, { readingsErased: report.readings });
    return report;
  }

  /**
   * Adds figures to the daily ledger (a closed window's, at ts: its start) and writes everything counted
   * so far with the next commit, normally the one that queues the window's messages (no commit of its own).
   * A policy seen for the first time is recorded with its rules.
   */
  noteLedger(ts: number, delta: LedgerDelta, policy?: { hash: string; json: string }): void {
    this.countInLedger(ts, delta);
    if (policy) this.pendingPolicies.push({ hash: policy.hash, day: this.dayOf(ts), json: policy.json });
    this.ledgerDue = true;
  }

  /** The ledger's days from..to inclusive (YYYY-MM-DD), with what is counted but not written yet. */
  ledgerDays(from: string, to: string): LedgerDay[] {
    const days = new Map(this.run('read ledger', () => this.ledger.between(from, to)).map((d) => [d.day, d as LedgerFigures]));
    for (const [day, figures] of this.ledgerPending) {
      if (day >= from && day <= to) days.set(day, mergeFigures(days.get(day) ?? emptyFigures(), figures));
    }
    return [...days].sort(([a], [b]) => (a < b ? -1 : 1)).map(([day, f]) => ({ day, ...f }));
  }

  ledgerPolicies(): LedgerPolicy[] {
    return this.run('read ledger', () => this.ledger.policies());
  }

  /** Enforces the size cap now; returns the raw readings dropped. */
  enforceSizeCap(): number {
    return this.run('size cap', () => enforceSizeCap(this.tables, this.limits, this.logger));
  }

  /** Drops since the last call (persisted until taken), for the next summary and the health state. */
  takeDropCounts(): DropCounts {
    return this.run('drop counts', () => this.drops.take());
  }

  /** Bytes of database pages in use (what the size cap measures). */
  usedBytes(): number {
    return this.run('size', () => usedBytes(this.db));
  }

  /** Bytes on disk: database plus write-ahead log (the -shm index is a fixed, rebuildable 32 KiB). */
  sizeBytes(): number {
    return fileSize(this.info.path) + fileSize(`${this.info.path}-wal`);
  }

  /** `PRAGMA integrity_check`: ['ok'] for a sound database, else SQLite's findings (at most 100). */
  integrityCheck(): string[] {
    return this.run('integrity check', () => this.db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[]).map(
      (row) => row.integrity_check,
    );
  }

  storeInfo(): StoreInfo {
    return this.info;
  }

  /** Folds the WAL back into the database and closes. Safe to call twice. */
  close(): void {
    if (!this.db.open) return;
    try {
      if (this.deferredAcks.size > 0 || this.ledgerPending.size > 0) {
        this.ledgerDue = true;
        this.write(() => undefined);
      }
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (e) {
      throw storeError('close', this.info.path, e);
    } finally {
      this.db.close();
      this.logger.info({ path: this.info.path }, 'store closed');
    }
  }

  private countInLedger(ts: number, delta: LedgerDelta): void {
    const day = this.dayOf(ts);
    this.ledgerPending.set(day, mergeFigures(this.ledgerPending.get(day) ?? emptyFigures(), delta));
  }

  /** Inside a commit: the pending figures merged into their days, and days past LEDGER_KEEP_DAYS deleted. */
  private writeLedger(): void {
    for (const [day, figures] of this.ledgerPending) this.ledger.add(day, figures);
    for (const p of this.pendingPolicies) this.ledger.notePolicy(p.hash, p.day, p.json);
    this.ledger.purge(this.now(), this.dayOf);
  }

  /**
   * Inside a data commit: the retention when due, so it costs no commit, sync or checkpoint of its own
   * (docs/store.md: what stays on flash meanwhile). Its failure is undone alone and logged; the commit goes on.
   */
  private retentionIfDue(): RetentionRun | undefined {
    const at = this.now();
    if (at - this.lastRetentionAt < RETENTION_EVERY_MS) return undefined;
    try {
      return { at, ...this.purgeInCommit(at) };
    } catch (e) {
      this.lastRetentionAt = at; // tried again in an hour, not at every commit
      this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'store retention failed; tried again in an hour');
      return undefined;
    }
  }

  /** After the commit that carried a retention run. */
  private noteRetention(run: RetentionRun | undefined): void {
    if (!run) return;
    this.lastRetentionAt = run.at;
    this.countInLedger(run.at, { readingsErased: run.readings });
  }

  private maintainQuietly(): void {
    try {
      if (++this.batchesSinceSizeCheck >= SIZE_CHECK_EVERY_BATCHES) {
        this.batchesSinceSizeCheck = 0;
        this.enforceSizeCap();
      }
    } catch (e) {
      this.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'store maintenance failed; retried with the next batches');
    }
  }

  /** One transaction that also writes the deferred acknowledgements; they are forgotten once committed. */
  private write<T>(body: () => T): T {
    const result = this.commit(body) as T;
    this.deferredAcks.clear();
    if (this.ledgerDue) {
      this.ledgerPending = new Map();
      this.pendingPolicies = [];
      this.ledgerDue = false;
    }
    return result;
  }

  private run<T>(operation: string, body: () => T): T {
    if (!this.db.open) {
      throw new PasserelleError('E_STORE_CLOSED', `store ${this.info.path} is closed (${operation})`);
    }
    try {
      return body();
    } catch (e) {
      throw storeError(operation, this.info.path, e);
    }
  }
}

function configure(db: Database.Database): void {
  // Held for the connection's life, set before the log is first used: the log's index then lives in this
  // process's memory instead of a shared `-shm` file that the kernel writes back to flash 30 s after every
  // commit (about 7 MB a day at a 50-point site: issue 11). Local tools read a snapshot (live-read.ts).
  db.pragma('locking_mode = EXCLUSIVE');
  // Small pages for a new store (no effect on an existing one): a commit rewrites whole pages, and most
  // commits touch a few pages besides the new data (SD card wear).
  db.pragma(`page_size = ${PAGE_SIZE}`);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new PasserelleError('E_STORE_OPEN', `store ${db.name} cannot use a write-ahead log (${String(mode)})`);
  // FULL: every commit is on flash when it returns, so what a power cut loses is what was not committed
  // yet (docs/store.md). Commits are few (raw batches every store.commitInterval, one per summary), so
  // this costs few fsyncs.
  db.pragma('synchronous = FULL');
  // Deleted cells are overwritten within the pages that stay in use; whole freed pages keep their
  // encrypted content until reused (the next batches, in steady state) instead of costing one more log
  // write and checkpoint copy each. Retention on demand and erase zero everything (retention.ts, erase.ts).
  db.pragma('secure_delete = FAST');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Sorts and temp tables stay in memory: SQLite temp files would not be encrypted.
  db.pragma('temp_store = MEMORY');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  // Checkpoint every WAL_CHECKPOINT_PAGES pages: pages rewritten by consecutive commits (the last leaf of
  // a table, its index) are copied into the database once instead of many times; fewer SD card writes.
  db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
  // The page cache holds what a gateway's commits touch (the last pages of each table and index, the
  // outbox): this build's default, 16 MB, would fill with the pages of retention and recovery scans as a
  // store grows, and stay in RSS (docs/memory.md).
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
}

const PAGE_SIZE = 1024;
/** SQLite's page cache bound, in KiB (SQLite's own default; 2 048 pages of 1 KiB). */
export const PAGE_CACHE_KIB = 2048;
const WAL_CHECKPOINT_PAGES = 4000;
