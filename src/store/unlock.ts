import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, readSync, copyFileSync, existsSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { applyKey, isWrongKeyError, type StoreCipher } from './cipher.js';
import { openSecretFile } from '../core/secret-file.js';
import { storeError } from './errors.js';
import { storeFileRules } from './store-files.js';
import { nextKeyPath, type KeySource } from './key-source.js';
import { loadOrCreateKey, readExistingKey, replaceKeyFile } from './keyfile.js';
import { overwriteAndRemove } from './wipe.js';

/** A writer waits this long for a lock held by a local tool before failing with E_STORE_BUSY. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Loads the key and opens a keyed connection. The key is first checked on a read-only connection,
 * so a wrong key can never write to (or checkpoint into) an existing database. A rotation that a
 * crash interrupted is settled first (see settleInterruptedRotation).
 */
export function unlock(path: string, source: KeySource, cipher: StoreCipher, logger: Logger, opts: { exclusive?: boolean } = {}): Database.Database {
  checkDatabaseFiles(path, logger);
  const hasData = fileSize(path) > 0;
  if (source.kind === 'file') settleInterruptedRotation(path, source.path, cipher, hasData, logger);
  if (hasData && !existsSync(source.path)) {
    throw new PasserelleError(
      'E_STORE_KEY_MISSING',
      `store ${path} exists but its key file ${source.path} is missing; restore the key file from backup ` +
        `(a new key cannot read this store)`,
    );
  }
  const key = loadKey(source, logger);
  try {
    ensureDatabaseFile(path, logger);
    verifyKey(path, cipher, key);
    const exclusive = opts.exclusive ?? true;
    if (exclusive) removeStaleIndex(path);
    return connect(path, cipher, key, false, BUSY_TIMEOUT_MS, exclusive);
  } finally {
    key.fill(0);
  }
}

function loadKey(source: KeySource, logger: Logger): Buffer {
  if (source.kind === 'credential') return readExistingKey(source.path, 'credential');
  const keyExisted = existsSync(source.path);
  const key = loadOrCreateKey(source.path);
  if (!keyExisted) logger.warn({ keyFile: source.path }, 'created a new store key file; back it up, the store cannot be read without it');
  return key;
}

/**
 * `keys rotate` writes `<keyFile>.next`, re-keys the database (one transaction in rollback-journal
 * mode), then renames `.next` over the key file. After a crash at any step exactly one of the two
 * keys opens the database, once a hot rollback journal is rolled back (verifyKey tries a key on a
 * copy then). The journal can belong to either key: the re-key's own (pages under the old key: it had
 * not committed, the current key wins) or the switch back to WAL that follows it (page 1 under the new
 * key: `.next` wins). So the current key is tried first, then `.next`, and the files are put right:
 * a useless `.next` is wiped, a winning `.next` becomes the key file.
 */
export function settleInterruptedRotation(path: string, keyFile: string, cipher: StoreCipher, hasData: boolean, logger: Logger): void {
  const next = nextKeyPath(keyFile);
  if (!existsSync(next)) return;
  const journal = `${path}-journal`;
  if (!hasData || opensWith(path, cipher, keyFile)) {
    overwriteAndRemove(next);
    logger.warn({ keyFile }, 'an interrupted key rotation was rolled back; the store keeps its current key');
    return;
  }
  if (opensWith(path, cipher, next)) {
    // The re-key committed. A hot journal is the WAL switch's, under the new key: rolled back with it.
    // Otherwise the journal holds the re-key's pages under the old key, perhaps not zeroed yet.
    if (hasHotJournal(journal)) rollBackWith(path, cipher, next);
    overwriteAndRemove(journal);
    replaceKeyFile(next, keyFile);
    logger.warn({ keyFile }, 'an interrupted key rotation was completed; the store uses the new key');
    return;
  }
  throw new PasserelleError(
    'E_STORE_KEY',
    `cannot open ${path} with ${keyFile} nor with ${next} (a key rotation was interrupted); ` +
      `restore the key file from backup; the files were left untouched`,
  );
}

/** Opening a writing connection rolls a hot journal back; the key was checked on a copy first. */
function rollBackWith(path: string, cipher: StoreCipher, keyFile: string): void {
  const key = readExistingKey(keyFile);
  try {
    connect(path, cipher, key, false, BUSY_TIMEOUT_MS, false).close();
  } finally {
    key.fill(0);
  }
}

/**
 * SQLite rolls a journal back only when it is "hot": not empty and its first byte not zero (a committed
 * journal in PERSIST mode has its header zeroed).
 */
function hasHotJournal(journal: string): boolean {
  const opened = openSecretFile(journal, storeFileRules(journal, 'store file', { refusedBits: 0, codes: STORE_FILE_CODES }));
  if (!opened) return false;
  try {
    const first = Buffer.alloc(1);
    return readSync(opened.fd, first, 0, 1, 0) === 1 && first[0] !== 0;
  } finally {
    closeSync(opened.fd);
  }
}

function opensWith(path: string, cipher: StoreCipher, keyFile: string): boolean {
  if (!existsSync(keyFile)) return false;
  let key: Buffer | undefined;
  try {
    key = readExistingKey(keyFile);
    verifyKey(path, cipher, key);
    return true;
  } catch (e) {
    // E_KEY_FORMAT: an old key overwritten by a rotation that a crash stopped before the rename.
    if (e instanceof PasserelleError && (e.code === 'E_STORE_KEY' || e.code === 'E_KEY_FORMAT')) return false;
    throw e;
  } finally {
    key?.fill(0);
  }
}

/**
 * Read-only: a wrong key reads one page, fails, and writes nothing. A hot rollback journal (a re-key
 * killed midway) cannot be read read-only; rolling it back with a wrong key would write garbage over
 * the pages, so the key is tried on a private copy of database + journal first, and the copy wiped.
 */
export function verifyKey(path: string, cipher: StoreCipher, key: Buffer): void {
  try {
    connect(path, cipher, key, true).close();
  } catch (e) {
    if (!needsRollback(e)) throw e;
    verifyOnCopy(path, cipher, key);
  }
}

const needsRollback = (e: unknown): boolean =>
  e instanceof PasserelleError && (e.cause as { code?: unknown } | undefined)?.code === 'SQLITE_READONLY_ROLLBACK';

function verifyOnCopy(path: string, cipher: StoreCipher, key: Buffer): void {
  const copy = `${path}.verify-${randomBytes(4).toString('hex')}`;
  try {
    copyFileSync(path, copy, constants.COPYFILE_EXCL);
    copyFileSync(`${path}-journal`, `${copy}-journal`, constants.COPYFILE_EXCL);
    connect(copy, cipher, key, false, BUSY_TIMEOUT_MS, false).close();
  } finally {
    for (const file of [copy, `${copy}-journal`, `${copy}-wal`, `${copy}-shm`]) overwriteAndRemove(file);
  }
}

/**
 * A keyed connection. A writing connection holds the database locked for its lifetime (locking_mode
 * EXCLUSIVE, set before its first read, so that the write-ahead log's index lives in the process's memory:
 * no `-shm` file for the kernel to write back to flash after every commit). Local tools read such a store
 * through a snapshot (live-read.ts). `busyTimeoutMs`: how long a lock held elsewhere is waited for.
 * `exclusive: false` keeps SQLite's normal locking on a writing connection: the key rotation and its
 * crash recovery, which switch to a rollback journal, where exclusive mode changes when the journal is
 * left behind (their recovery reads a journal's presence).
 */
export function connect(path: string, cipher: StoreCipher, key: Buffer, readonly: boolean, busyTimeoutMs = BUSY_TIMEOUT_MS, exclusive = !readonly): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: true, timeout: busyTimeoutMs });
  } catch (e) {
    throw storeError('open', path, e);
  }
  try {
    applyKey(db, cipher, key);
    if (exclusive && !readonly) db.pragma('locking_mode = EXCLUSIVE');
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

/**
 * The writing connection keeps the log's index in memory (see connect), so a `-shm` file beside the
 * store is stale: left by the read-only key check after a crash (it rebuilt the index there) or by an
 * older version. Removed (unlink never follows a link) so that no index file outlives its use; a
 * local tool that still maps it keeps its own mapping, and the gateway never reads it.
 */
function removeStaleIndex(path: string): void {
  try {
    unlinkSync(`${path}-shm`);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw storeError('open', path, e);
  }
}

/** An empty file is a new database to SQLite; creating it ourselves sets mode 0600 (SQLite would use 0644). */
function ensureDatabaseFile(path: string, logger: Logger): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600));
  } catch (e) {
    throw storeError('create', path, e);
  }
  checkDatabaseFiles(path, logger);
}

/**
 * The database and its companions are checked like every secret before SQLite opens them: no link, no
 * foreign owner (refused). One readable by group/others (a store made by a tool with SQLite's default
 * 0644) holds only encrypted pages: it is made private (0600) rather than refused, and said.
 */
export function checkDatabaseFiles(path: string, logger: Logger): void {
  const rules = storeFileRules(path, 'store file', { codes: STORE_FILE_CODES, refusedBits: 0 });
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    const opened = openSecretFile(file, rules);
    if (!opened) continue;
    try {
      if ((opened.stat.mode & 0o077) !== 0) {
        fchmodSync(opened.fd, opened.stat.mode & 0o700);
        logger.warn({ file, mode: (opened.stat.mode & 0o777).toString(8) }, 'store file was accessible to other users; made private (0600)');
      }
    } finally {
      closeSync(opened.fd);
    }
  }
}

const STORE_FILE_CODES = {
  link: 'E_STORE_LINK',
  type: 'E_STORE_PATH',
  perms: 'E_STORE_PERMS',
  owner: 'E_STORE_OWNER',
  moved: 'E_STORE_LINK',
  io: 'E_STORE_IO',
} as const;

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
