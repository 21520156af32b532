/**
 * One process at a time on a store: the gateway (`run`, `demo`), `erase` and `keys rotate` each hold
 * the instance lock of the store for as long as they work on it, and a second one refuses at once,
 * naming the holder.
 *
 * The lock is a kernel lock, not the presence of a file: `<store>.lock` is a tiny unencrypted SQLite
 * file, and the holder keeps a write transaction open on it (an fcntl lock, BEGIN IMMEDIATE). The
 * kernel drops that lock when the process dies, kill -9 and power cuts included, so a stale file never
 * blocks a restart, and a reused pid cannot fool it. The file only tells who holds the lock: pid,
 * command, host and start time (no data, no secret), committed before the lock is taken for good.
 *
 * Never open `<store>.lock` with node:fs while holding the lock: closing any descriptor of a file
 * drops every fcntl lock this process holds on it (POSIX). SQLite itself guards against that.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { closeSync, lstatSync, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { PasserelleError } from '../core/errors.js';
import { storeError } from './errors.js';

/** Who holds (or last held) the lock. */
export interface LockOwner {
  readonly pid: number;
  readonly command: string;
  readonly host: string;
  /** ms since epoch. */
  readonly startedAt: number;
}

export interface InstanceLock {
  readonly path: string;
  /** Releases the lock; with removeFile (erase), the file goes first, while still held. Safe to call twice. */
  release(opts?: { removeFile?: boolean }): void;
}

export const lockPathFor = (storePath: string): string => `${storePath}.lock`;

/**
 * Takes the instance lock of the store at storePath, or throws E_STORE_IN_USE naming the holder.
 * `command` says who takes it (`gateway`, `erase`, `keys rotate`), for the holder's message.
 */
export function acquireInstanceLock(storePath: string, command: string): InstanceLock {
  const path = lockPathFor(storePath);
  prepareFile(path, storePath);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 0 });
  } catch (e) {
    throw lockFileError(path, e);
  }
  try {
    // Taken, written, committed, then taken again and kept: others can read who holds it meanwhile.
    // Two processes racing between the commit and the second take: exactly one keeps it.
    take(db, storePath);
    db.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, command TEXT, host TEXT, started_at INTEGER)');
    db.prepare('INSERT OR REPLACE INTO owner (id, pid, command, host, started_at) VALUES (1, ?, ?, ?, ?)').run(process.pid, command, hostname(), Date.now());
    db.exec('COMMIT');
    take(db, storePath);
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    throw e instanceof PasserelleError ? e : lockFileError(path, e);
  }
  let held = true;
  return {
    path,
    release(opts) {
      if (!held) return;
      held = false;
      if (opts?.removeFile) unlinkQuietly(path);
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

/** Runs body under the instance lock, released when body ends (or its promise settles). */
export function withInstanceLock<T>(storePath: string, command: string, body: (lock: InstanceLock) => T): T {
  const lock = acquireInstanceLock(storePath, command);
  let result: T;
  try {
    result = body(lock);
  } catch (e) {
    lock.release();
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => lock.release()) as T;
  lock.release();
  return result;
}

function take(db: Database.Database, storePath: string): void {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY')) throw e;
    throw inUse(storePath, readOwner(db));
  }
}

function readOwner(db: Database.Database): LockOwner | undefined {
  try {
    const row = db.prepare('SELECT pid, command, host, started_at FROM owner WHERE id = 1').get() as
      | { pid: number; command: string; host: string; started_at: number }
      | undefined;
    return row && { pid: row.pid, command: row.command, host: row.host, startedAt: row.started_at };
  } catch {
    return undefined; // the holder has not committed its row yet
  }
}

function inUse(storePath: string, owner: LockOwner | undefined): PasserelleError {
  const who =
    owner && owner.pid !== process.pid
      ? `${holderName(owner.command)} (pid ${owner.pid} on ${owner.host}, started ${new Date(owner.startedAt).toISOString()})`
      : 'another process that is starting at this very moment';
  return new PasserelleError(
    'E_STORE_IN_USE',
    `store ${storePath} is in use by ${who}; stop it first (under systemd: systemctl stop passerelle). Nothing was changed`,
  );
}

const holderName = (command: string): string => (command === 'gateway' ? 'a running gateway' : `passerelle ${command}`);

/** The directory as the store wants it (0700); the file created 0600, and never a link followed. */
function prepareFile(path: string, storePath: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new PasserelleError('E_STORE_LOCK', `${path} (the instance lock of ${storePath}) is a symbolic link; remove it`);
    }
    // 'wx' fails without opening anything when the file exists: no descriptor of a held lock file is closed.
    closeSync(openSync(path, 'wx', 0o600));
  } catch (e) {
    if ((e as { code?: unknown }).code === 'EEXIST') return;
    throw e instanceof PasserelleError ? e : lockFileError(path, e);
  }
}

function lockFileError(path: string, e: unknown): PasserelleError {
  // A directory the gateway cannot write is the store's problem, said once the store's way.
  const code = (e as { code?: unknown }).code;
  if (['EACCES', 'EPERM', 'EROFS', 'SQLITE_READONLY', 'SQLITE_CANTOPEN'].includes(String(code))) return storeError('taking the instance lock', path.replace(/\.lock$/, ''), e);
  const detail = e instanceof Error ? e.message : String(e);
  return new PasserelleError('E_STORE_LOCK', `cannot use the instance lock ${path}: ${detail} (its directory must be writable)`, false, { cause: e });
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone: nothing to tidy
  }
}
