import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { PasserelleError } from '../../src/core/errors.js';

const created: string[] = [];

/** A fresh directory under the OS temp dir; removeTempDirs() deletes every one made so far. */
export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-store-'));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Writes a valid key file (mode 0600) and returns its path. */
export function keyFileWith(dir: string, name: string, key: Buffer = randomBytes(32)): string {
  const path = join(dir, name);
  // The mode applies on creation only; callers always pass a new name.
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return path;
}

/** sha256 of every file in dir, by name: equal maps mean byte-identical files and no file added or removed. */
export function hashFiles(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    hashes[name] = createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
  }
  return hashes;
}

/** Names of the files in dir whose raw bytes contain needle anywhere. */
export function filesContaining(dir: string, needle: Buffer): string[] {
  return readdirSync(dir).filter((name) => readFileSync(join(dir, name)).includes(needle));
}

/** A logger that keeps every line it writes, to check what reaches the logs. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** The PasserelleError fn throws; fails the test when it throws nothing or something else. */
export function thrown(fn: () => unknown): PasserelleError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PasserelleError) return e;
    throw e;
  }
  throw new Error('expected a PasserelleError, nothing was thrown');
}
