import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { withInstanceLock } from './instance-lock.js';
import { errorMessage } from '../core/errors.js';
import { nextKeyPath, resolveKeySource } from './key-source.js';
import { fsyncDirectory } from './keyfile.js';
import { overwriteAndRemove } from './wipe.js';

/** The part of the site config erase needs (structural, so the store does not depend on config). */
export interface EraseTarget {
  readonly store: { readonly path: string; readonly keyFile: string };
}

export interface ErasedFile {
  readonly path: string;
  readonly bytes: number;
}

export interface EraseReport {
  /** Files overwritten with random bytes, flushed, then deleted. */
  readonly erased: readonly ErasedFile[];
  /** Files left untouched because they are not the store's (a link, another owner...): why, per file. */
  readonly refused: readonly { readonly path: string; readonly reason: string }[];
  /** A systemd credential holding the key: Passerelle cannot delete it (see docs/store.md). */
  readonly credentialKept?: string;
}

/**
 * Wipes every local file of the store: database, write-ahead log, shared-memory index, rollback
 * journal, the key file and a rotation's `.next` key, and key files a crash left half-created.
 * Deleting the key alone already makes the data unreadable (every page is encrypted with it); the data
 * files are still overwritten, because a future key leak must not reveal them. The gateway must be
 * stopped first (a running gateway would keep writing to the deleted files).
 */
export async function eraseLocalData(config: EraseTarget, env: NodeJS.ProcessEnv = process.env): Promise<EraseReport> {
  // Refused while a gateway runs on the store; the lock file goes with the rest.
  return withInstanceLock(config.store.path, 'erase', async (lock) => {
    const report = await eraseUnlocked(config, env);
    lock.release({ removeFile: true });
    return report;
  });
}

async function eraseUnlocked(config: EraseTarget, env: NodeJS.ProcessEnv): Promise<EraseReport> {
  const { path, keyFile } = config.store;
  const source = resolveKeySource(keyFile, env);
  const candidates = [
    // The key first: once it is gone, whatever happens next, the data cannot be read.
    keyFile,
    nextKeyPath(keyFile),
    ...leftoverKeyTemps(keyFile),
    path,
    `${path}-wal`,
    `${path}-shm`,
    `${path}-journal`,
  ];
  const erased: ErasedFile[] = [];
  const refused: { path: string; reason: string }[] = [];
  for (const file of candidates) {
    try {
      const bytes = overwriteAndRemove(file);
      if (bytes !== undefined) erased.push({ path: file, bytes });
    } catch (e) {
      // A planted link or a foreign file is never followed nor overwritten; the other files are still wiped.
      refused.push({ path: file, reason: errorMessage(e) });
    }
  }
  for (const dir of new Set([dirname(path), dirname(keyFile)])) fsyncDirectory(dir);
  return source.kind === 'credential' ? { erased, refused, credentialKept: source.path } : { erased, refused };
}

/** `<keyFile>.<pid>.<random>.tmp`: what keyfile.ts leaves if killed between write and rename. */
function leftoverKeyTemps(keyFile: string): string[] {
  const dir = dirname(keyFile);
  const prefix = `${basename(keyFile)}.`;
  try {
    return readdirSync(dir)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.tmp'))
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}
