/**
 * Crash-safe small files: write a temp file, fsync it, rename it over the target, fsync the directory
 * (the rename itself is only durable once the directory is flushed). A power cut leaves the old file or
 * the new one, never a torn one.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync, constants } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes and flushes a new file (no directory fsync: callers batch it). */
export function writeFlushed(path: string, data: string | Buffer, mode = 0o600): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces `path` atomically and durably; `beforeRename` lets crash tests stop between the steps. */
export function writeAtomic(path: string, data: string | Buffer, beforeRename?: () => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  writeFlushed(tmp, data);
  beforeRename?.();
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * The same, off the event loop (the libuv thread pool): a gateway keeps serving while the SD card
 * flushes, and many writers (the fleet bench) let the file system group their commits.
 */
export async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** `fresh`: the file must not exist (O_EXCL: not even as a dangling link). */
export async function writeFlushedAsync(path: string, data: string | Buffer, mode = 0o600, fresh = false): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (fresh ? constants.O_EXCL : constants.O_TRUNC);
  const handle = await open(path, flags, mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function writeAtomicAsync(path: string, data: string | Buffer, beforeRename?: () => void): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  await writeFlushedAsync(tmp, data);
  beforeRename?.();
  await rename(tmp, path);
  await fsyncDirAsync(dirname(path));
}
