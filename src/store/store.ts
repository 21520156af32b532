import Database from 'better-sqlite3-multiple-ciphers';
import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { PasserelleError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Outbox, OutboxMessage } from '../core/outbox.js';
import type { Reading } from '../core/types.js';
import { applyKey, assertCipher, isWrongKeyError, type StoreCipher } from './cipher.js';
import { loadOrCreateKey } from './keyfile.js';
import { OutboxTable } from './outbox.js';
import { ReadingsTable } from './readings.js';
import { migrate } from './schema.js';

export interface StoreOptions {
  /** SQLite database file; created (mode 0600, directory 0700) on first start. */
  readonly path: string;
  /** 256-bit key file; created on first start, refused when readable by others. */
  readonly keyFile: string;
  /** Default chacha20: fast on ARM boards without AES instructions. */
  readonly cipher?: StoreCipher;
  readonly logger?: Logger;
}

/** What may be shown about a store: never the key. */
export interface StoreInfo {
  readonly path: string;
  readonly cipher: StoreCipher;
  readonly schemaVersion: number;
}

/** A writer waits this long for a lock held by a local tool before failing with E_STORE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * Raw readings and the outbox in one encrypted SQLite file (whole-database encryption, WAL journal,
 * also encrypted). Uplink code receives it as an `Outbox` only.
 */
export class Store implements Outbox {
  private readonly readings: ReadingsTable;
  private readonly outbox: OutboxTable;

  private constructor(
    private readonly db: Database.Database,
    private readonly info: StoreInfo,
    private readonly logger: Logger,
  ) {
    this.readings = new ReadingsTable(db);
    this.outbox = new OutboxTable(db);
  }

  static open(opts: StoreOptions): Store {
    const cipher = opts.cipher ?? 'chacha20';
    assertCipher(cipher);
    const logger = opts.logger ?? silentLogger();
    const db = unlock(opts.path, opts.keyFile, cipher, logger);
    try {
      configure(db);
      const schemaVersion = migrate(db, logger);
      logger.info({ path: opts.path, cipher, schemaVersion }, 'store opened');
      return new Store(db, { path: opts.path, cipher, schemaVersion }, logger);
    } catch (e) {
      db.close();
      throw storeError('open', opts.path, e);
    }
  }

  appendReadings(readings: readonly Reading[]): void {
    this.run('append readings', () => this.readings.append(readings));
  }

  readingCount(): number {
    return this.run('count readings', () => this.readings.count());
  }

  /** Readings with from <= ts < to, oldest first, bounded (see MAX_READINGS_PER_QUERY). For local tools. */
  readingsBetween(from: number, to: number, limit: number): Reading[] {
    return this.run('read readings', () => this.readings.between(from, to, limit));
  }

  /** Deletes readings sampled before ts; returns how many. */
  purgeReadingsBefore(ts: number): number {
    return this.run('purge readings', () => this.readings.purgeBefore(ts));
  }

  enqueue(message: OutboxMessage): boolean {
    return this.run('enqueue', () => this.outbox.enqueue(message));
  }

  peek(limit: number): OutboxMessage[] {
    return this.run('peek', () => this.outbox.peek(limit));
  }

  ack(id: string): void {
    this.run('ack', () => this.outbox.ack(id));
  }

  count(): number {
    return this.run('count', () => this.outbox.count());
  }

  /** Bytes on disk: database plus write-ahead log (the -shm index is a fixed, rebuildable 32 KiB). */
  sizeBytes(): number {
    return fileSize(this.info.path) + fileSize(`${this.info.path}-wal`);
  }

  storeInfo(): StoreInfo {
    return this.info;
  }

  /** Folds the WAL back into the database and closes. Safe to call twice. */
  close(): void {
    if (!this.db.open) return;
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (e) {
      throw storeError('close', this.info.path, e);
    } finally {
      this.db.close();
      this.logger.info({ path: this.info.path }, 'store closed');
    }
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

/**
 * Loads the key and opens a keyed connection. The key is first checked on a read-only connection,
 * so a wrong key can never write to (or checkpoint into) an existing database.
 */
function unlock(path: string, keyFile: string, cipher: StoreCipher, logger: Logger): Database.Database {
  const hasData = fileSize(path) > 0;
  if (hasData && !existsSync(keyFile)) {
    throw new PasserelleError(
      'E_STORE_KEY_MISSING',
      `store ${path} exists but its key file ${keyFile} is missing; restore the key file from backup ` +
        `(a new key cannot read this store)`,
    );
  }
  const keyExisted = existsSync(keyFile);
  const key = loadOrCreateKey(keyFile);
  if (!keyExisted) logger.warn({ keyFile }, 'created a new store key file; back it up, the store cannot be read without it');
  try {
    ensureDatabaseFile(path);
    connect(path, cipher, key, true).close();
    return connect(path, cipher, key, false);
  } finally {
    key.fill(0);
  }
}

function connect(path: string, cipher: StoreCipher, key: Buffer, readonly: boolean): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  } catch (e) {
    throw storeError('open', path, e);
  }
  try {
    applyKey(db, cipher, key);
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return db;
  } catch (e) {
    db.close();
    if (!isWrongKeyError(e)) throw storeError('open', path, e);
    throw new PasserelleError(
      'E_STORE_KEY',
      `cannot open ${path}: wrong key or not a Passerelle database (check store.keyFile and store.cipher ` +
        `"${cipher}"; the file was left untouched)`,
    );
  }
}

/** An empty file is a new database to SQLite; creating it ourselves sets mode 0600 (SQLite would use 0644). */
function ensureDatabaseFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
  } catch (e) {
    throw storeError('create', path, e);
  }
}

function configure(db: Database.Database): void {
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') throw new PasserelleError('E_STORE_OPEN', `store ${db.name} cannot use a write-ahead log (${String(mode)})`);
  // NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
  db.pragma('synchronous = NORMAL');
  // Deleted rows are overwritten, not left in free pages.
  db.pragma('secure_delete = ON');
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Sorts and temp tables stay in memory: SQLite temp files would not be encrypted.
  db.pragma('temp_store = MEMORY');
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** SQLite and file-system failures as stable codes; full disk and lock waits may clear, so retryable. */
function storeError(operation: string, path: string, e: unknown): PasserelleError {
  if (e instanceof PasserelleError) return e;
  const code = (e as { code?: unknown }).code;
  const detail = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new PasserelleError('E_STORE_FULL', `store ${path}: disk full during ${operation}`, true, { cause: e });
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) {
    return new PasserelleError('E_STORE_BUSY', `store ${path} is locked by another process (${operation})`, true, { cause: e });
  }
  return new PasserelleError('E_STORE_IO', `store ${path}: ${operation} failed: ${detail}`, false, { cause: e });
}
