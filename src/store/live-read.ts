/**
 * Reading a store that a running gateway may hold. The gateway's connection keeps the database locked
 * (unlock.ts: locking_mode EXCLUSIVE, so the log's index never goes to flash), so a local tool
 * (`passerelle report`, `passerelle doctor`) that finds it locked reads a snapshot instead: the database,
 * then its log, copied into a private folder in memory (/dev/shm when there is one), opened there with
 * the key, wiped when closed. The snapshot is the store as of the gateway's last commit: the log's
 * recovery drops a commit the copy caught half-written, and a log restarted during the copy (its header
 * changed) makes the copy start again.
 *
 * Why the order is enough: a checkpoint only copies into the database pages that are in the log, so
 * with the database copied first and the log second (same log header before and after), every page the
 * database copy may hold in a newer version is also in the log copy, which wins when read.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { closeSync, constants, copyFileSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PasserelleError } from '../core/errors.js';
import type { StoreCipher } from './cipher.js';
import { connect } from './unlock.js';

/** A lock held by the gateway is not waited for: its connection keeps it for as long as it runs. */
const LIVE_LOCK_WAIT_MS = 200;
const COPY_ATTEMPTS = 5;
const WAL_HEADER_BYTES = 32;

export interface StoreReader {
  readonly db: Database.Database;
  /** True when the store was locked by a running gateway and this reads a snapshot of it. */
  readonly snapshot: boolean;
  /** Closes the connection and wipes the snapshot, if any. */
  close(): void;
}

export function openForReading(path: string, cipher: StoreCipher, key: Buffer): StoreReader {
  try {
    const db = connect(path, cipher, key, true, LIVE_LOCK_WAIT_MS);
    return { db, snapshot: false, close: () => db.close() };
  } catch (e) {
    if (!(e instanceof PasserelleError && e.code === 'E_STORE_BUSY')) throw e;
  }
  const dir = mkdtempSync(join(snapshotRoot(), 'passerelle-read-'));
  try {
    const copy = snapshotCopy(path, dir);
    const db = connect(copy, cipher, key, false);
    return {
      db,
      snapshot: true,
      close: () => {
        try {
          db.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Memory when the system has a tmpfs for it (a snapshot is read once, it need not wear the card). */
function snapshotRoot(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // no /dev/shm: the temporary folder
  }
  return tmpdir();
}

/** Copies the database and its log into dir, consistently (see above); returns the copy's path. */
export function snapshotCopy(path: string, dir: string): string {
  const copy = join(dir, 'store.db');
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt++) {
    const header = walHeader(`${path}-wal`);
    copyFileSync(path, copy);
    rmSync(`${copy}-wal`, { force: true });
    if (header.length > 0) copyIfPresent(`${path}-wal`, `${copy}-wal`);
    if (walHeader(`${copy}-wal`).equals(header)) return copy;
  }
  throw new PasserelleError(
    'E_STORE_BUSY',
    `store ${path} is in use by a running gateway and changed during each of ${COPY_ATTEMPTS} attempts to copy it; try again`,
    true,
  );
}

function copyIfPresent(from: string, to: string): void {
  try {
    copyFileSync(from, to, constants.COPYFILE_EXCL);
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
  }
}

/** The log's header (its salts change when the log restarts); empty when there is no log. */
function walHeader(path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return Buffer.alloc(0);
    throw e;
  }
  try {
    const header = Buffer.alloc(WAL_HEADER_BYTES);
    return header.subarray(0, readSync(fd, header, 0, WAL_HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}
