import { randomFillSync } from 'node:crypto';
import { closeSync, fsyncSync, unlinkSync, writeSync } from 'node:fs';
import { openSecretFile } from '../core/secret-file.js';
import { storeFileRules } from './store-files.js';

/** Overwrite chunk: bounds the memory used to wipe a file of any size. */
const WIPE_CHUNK_BYTES = 1 << 20;

/**
 * Overwrites a file's bytes in place with random data, flushes them, then unlinks it. Returns the
 * bytes overwritten, or undefined when the file did not exist.
 *
 * The file is opened without following a link and must be a regular file with a single link, owned by
 * the store's owner or root (store-files.ts): a link planted in the store's directory by the service
 * account is refused (E_WIPE_LINK...), never followed, even when root runs the command.
 *
 * On flash (SD cards, eMMC) the controller may write the new bytes elsewhere and keep the old block
 * until it is reused: overwriting is a best effort there. What makes the data unreadable for sure is
 * that the key is wiped too (all pages are encrypted with it).
 */
export function overwriteAndRemove(path: string): number | undefined {
  const size = overwriteInPlace(path);
  if (size !== undefined) unlinkSync(path);
  return size;
}

/** Overwrites a file's bytes with random data and flushes them, keeping the file; see overwriteAndRemove. */
export function overwriteInPlace(path: string, fill: 'random' | 'zeros' = 'random'): number | undefined {
  const rules = storeFileRules(path, 'store file', { singleLink: true, refusedBits: 0, codes: WIPE_CODES });
  const opened = openSecretFile(path, rules, true);
  if (!opened) return undefined;
  const { fd, stat } = opened;
  try {
    const size = stat.size;
    const chunk = Buffer.alloc(Math.min(WIPE_CHUNK_BYTES, Math.max(size, 1)));
    for (let offset = 0; offset < size; offset += chunk.length) {
      const length = Math.min(chunk.length, size - offset);
      if (fill === 'random') randomFillSync(chunk, 0, length);
      writeSync(fd, chunk, 0, length, offset);
    }
    fsyncSync(fd);
    return size;
  } finally {
    closeSync(fd);
  }
}

/**
 * Overwrites a file with zeros, keeping it: for a committed rollback journal, which SQLite reads as
 * "not hot" only while its first byte is zero (random bytes could make it look like an interrupted
 * transaction).
 */
export const zeroFile = (path: string): number | undefined => overwriteInPlace(path, 'zeros');

const WIPE_CODES = {
  link: 'E_WIPE_LINK',
  type: 'E_WIPE_TYPE',
  owner: 'E_WIPE_OWNER',
  moved: 'E_WIPE_LINK',
  io: 'E_WIPE_IO',
} as const;
