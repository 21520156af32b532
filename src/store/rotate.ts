import type Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { PasserelleError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { applyRekey, assertCipher, type StoreCipher } from './cipher.js';
import { storeError } from './errors.js';
import { withInstanceLock } from './instance-lock.js';
import { nextKeyPath, resolveKeySource } from './key-source.js';
import { KEY_BYTES, replaceKeyFile, writeNewKeyFile, type FileOwner } from './keyfile.js';
import { fileSize, unlock } from './unlock.js';
import { overwriteInPlace, zeroFile } from './wipe.js';

export interface RotateOptions {
  readonly path: string;
  readonly keyFile: string;
  readonly cipher?: StoreCipher;
  readonly logger?: Logger;
  readonly env?: NodeJS.ProcessEnv;
  /** Called after each durable step; the crash tests kill the process there. */
  readonly onStep?: (step: RotationStep) => void;
}

/** The durable steps of a rotation, in order. A crash between any two leaves an openable store. */
export type RotationStep = 'next-key-written' | 'journal-zeroed' | 'rekeyed' | 'old-key-wiped' | 'key-file-replaced';

export interface RotateReport {
  readonly path: string;
  readonly keyFile: string;
  readonly durationMs: number;
}

/**
 * Re-keys the store in place with a fresh random key:
 *   1. the new key goes to `<keyFile>.next` (0600, fsynced with its directory entry);
 *   2. the database is re-keyed in one transaction (rollback journal: SQLite3MultipleCiphers cannot
 *      re-key in WAL mode); the journal, which holds every page under the old key, is overwritten with
 *      zeros (PERSIST mode keeps it for that; zeros keep it "not hot"), then the store goes back to WAL;
 *   3. the old key is overwritten in place, then `.next` is renamed over it (same owner as the old key,
 *      so a rotation run as root leaves a key the service can still read).
 * At the next open, unlock.ts settles a rotation a crash interrupted (whichever key opens the store wins).
 * The gateway must be stopped: leaving WAL mode needs the only connection, otherwise E_STORE_BUSY.
 */
export function rotateStoreKey(opts: RotateOptions): RotateReport {
  return withInstanceLock(opts.path, 'keys rotate', () => rotateUnlocked(opts));
}

function rotateUnlocked(opts: RotateOptions): RotateReport {
  const started = Date.now();
  const cipher = opts.cipher ?? 'chacha20';
  assertCipher(cipher);
  const logger = opts.logger ?? silentLogger();
  const source = resolveKeySource(opts.keyFile, opts.env);
  if (source.kind === 'credential') {
    throw new PasserelleError(
      'E_KEY_ROTATE_CREDENTIAL',
      `the store key comes from the systemd credential ${source.path}, which Passerelle cannot rewrite; ` +
        `see docs/store.md "Rotating a credential key"`,
    );
  }
  if (fileSize(opts.path) === 0) {
    throw new PasserelleError('E_STORE_MISSING', `no store at ${opts.path}: nothing to re-key (it is created, with a new key, on first start)`);
  }
  // Normal locking: the re-key runs in rollback-journal mode, and a crash's recovery (unlock.ts) reads
  // whether a journal was left behind, which exclusive mode changes.
  const db = unlock(opts.path, source, cipher, logger, { exclusive: false });
  const next = nextKeyPath(opts.keyFile);
  try {
    const owner = ownerOf(opts.keyFile);
    leaveWalMode(db, opts.path);
    const key = randomBytes(KEY_BYTES);
    try {
      writeNewKeyFile(next, key, owner);
      opts.onStep?.('next-key-written');
      applyRekey(db, cipher, key);
    } finally {
      key.fill(0);
    }
    zeroFile(`${opts.path}-journal`);
    opts.onStep?.('journal-zeroed');
    db.pragma('journal_mode = WAL');
    opts.onStep?.('rekeyed');
  } catch (e) {
    throw storeError('key rotation', opts.path, e);
  } finally {
    db.close();
  }
  // A crash from here on: the old key no longer opens the store, `.next` does; unlock.ts completes it.
  overwriteInPlace(opts.keyFile);
  opts.onStep?.('old-key-wiped');
  replaceKeyFile(next, opts.keyFile);
  opts.onStep?.('key-file-replaced');
  logger.info({ path: opts.path, keyFile: opts.keyFile }, 'store key rotated');
  return { path: opts.path, keyFile: opts.keyFile, durationMs: Date.now() - started };
}

function leaveWalMode(db: Database.Database, path: string): void {
  const busy = () =>
    new PasserelleError('E_STORE_BUSY', `store ${path} is open in another process (is the gateway running?); stop it before rotating the key`, true);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    // PERSIST, not DELETE: SQLite would unlink the journal unwiped; rotate overwrites it first.
    const mode = db.pragma('journal_mode = PERSIST', { simple: true });
    if (mode !== 'persist') throw busy();
  } catch (e) {
    if (e instanceof PasserelleError) throw e;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) throw busy();
    throw e;
  }
}

/** The old key's owner: the new key file gets it (a rotation run as root must not leave a root-only key). */
function ownerOf(keyFile: string): FileOwner {
  const { uid, gid } = lstatSync(keyFile);
  return { uid, gid };
}
