import { randomFillSync } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';

/** Overwrite chunk: bounds the memory used to wipe a file of any size. */
const WIPE_CHUNK_BYTES = 1 << 20;

/**
 * Overwrites a file's bytes in place with random data, flushes them, then unlinks it. Returns the
 * bytes overwritten, or undefined when the file did not exist.
 *
 * On flash (SD cards, eMMC) the controller may write the new bytes elsewhere and keep the old block
 * until it is reused: overwriting is a best effort there. What makes the data unreadable for sure is
 * that the key is wiped too (all pages are encrypted with it).
 */
export function overwriteAndRemove(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let size = 0;
  try {
    size = fstatSync(fd).size;
    const chunk = Buffer.alloc(Math.min(WIPE_CHUNK_BYTES, Math.max(size, 1)));
    for (let offset = 0; offset < size; offset += chunk.length) {
      const length = Math.min(chunk.length, size - offset);
      randomFillSync(chunk, 0, length);
      writeSync(fd, chunk, 0, length, offset);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(path);
  return size;
}
