import { randomBytes } from 'node:crypto';
import { closeSync, fchownSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { PasserelleError } from '../core/errors.js';
import { readSecretFile } from '../core/secret-file.js';
import { storeFileRules } from './store-files.js';

/** The store key is 256 bits, kept as 64 hex characters and a newline. */
export const KEY_BYTES = 32;
const KEY_FILE_PATTERN = /^[0-9a-fA-F]{64}\n?$/;
/** Anything longer than hex + CRLF is not a key file; we refuse without reading it (bounded read). */
const KEY_FILE_MAX_BYTES = 2 * KEY_BYTES + 2;

/**
 * Returns the store key from `path`, creating a fresh random key there on first start.
 * Errors name the file and the fix, never the key bytes.
 */
export function loadOrCreateKey(path: string): Buffer {
  return readKeyFile(path, 'file') ?? createKeyFile(path);
}

/**
 * Reads an existing key (file or systemd credential), with the same checks; never creates one.
 * systemd lets the service user read a credential through an ACL, whose mask shows as group bits:
 * a credential is refused only when others may read it.
 */
export function readExistingKey(path: string, kind: 'file' | 'credential' = 'file'): Buffer {
  const key = readKeyFile(path, kind);
  if (!key) throw new PasserelleError('E_KEY_MISSING', `key file ${path} does not exist`);
  return key;
}

/**
 * Writes `key` to a new file at `path` (refusing an existing one), mode 0600, flushed to disk with its
 * directory entry before returning: used for the `.next` key of a rotation, which must be durable
 * before the database is re-keyed.
 */
export function writeNewKeyFile(path: string, key: Buffer, owner?: FileOwner): void {
  try {
    writePrivateFile(path, Buffer.from(`${key.toString('hex')}\n`, 'latin1'), owner);
    fsyncDirectory(dirname(path));
  } catch (e) {
    throw keyIoError(`cannot write key file ${path}`, e);
  }
}

/** Renames the rotated key over the old one and makes the rename durable. */
export function replaceKeyFile(from: string, to: string): void {
  try {
    renameSync(from, to);
    fsyncDirectory(dirname(to));
  } catch (e) {
    throw keyIoError(`cannot rename key file ${from} to ${to}`, e);
  }
}

/** A key file is checked like every secret (core/secret-file.ts): no link, an allowed owner, private. */
function readKeyFile(path: string, kind: 'file' | 'credential'): Buffer | undefined {
  const rules =
    kind === 'credential'
      ? { what: 'key file', refusedBits: 0o007, maxBytes: KEY_FILE_MAX_BYTES, codes: KEY_CODES }
      : storeFileRules(path, 'key file', { maxBytes: KEY_FILE_MAX_BYTES, codes: KEY_CODES });
  let raw: Buffer | undefined;
  try {
    raw = readSecretFile(path, rules);
  } catch (e) {
    if (e instanceof PasserelleError && e.code === 'E_KEY_SIZE') throw malformed(path);
    throw e;
  }
  if (!raw) return undefined;
  try {
    const text = raw.toString('latin1');
    if (!KEY_FILE_PATTERN.test(text)) throw malformed(path);
    return Buffer.from(text.slice(0, 2 * KEY_BYTES), 'hex');
  } finally {
    raw.fill(0);
  }
}

const KEY_CODES = {
  link: 'E_KEY_LINK',
  type: 'E_KEY_FORMAT',
  perms: 'E_KEY_PERMS',
  owner: 'E_KEY_OWNER',
  size: 'E_KEY_SIZE',
  moved: 'E_KEY_LINK',
  io: 'E_KEY_IO',
} as const;

const malformed = (path: string): PasserelleError =>
  new PasserelleError(
    'E_KEY_FORMAT',
    `key file ${path} must hold exactly 64 hexadecimal characters (a 256-bit key) and a newline; ` +
      `restore it from backup, or move it away only if the store may be discarded`,
  );

/** Writes the key to a private temp file, flushes it, then renames: a crash leaves no half-written key. */
function createKeyFile(path: string): Buffer {
  const dir = dirname(path);
  const key = randomBytes(KEY_BYTES);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writePrivateFile(tmp, Buffer.from(`${key.toString('hex')}\n`, 'latin1'));
    // One gateway process owns its key file, so a plain rename (no clobber check) is enough here.
    renameSync(tmp, path);
    fsyncDirectory(dir);
    return key;
  } catch (e) {
    removeQuietly(tmp);
    key.fill(0);
    throw keyIoError(`cannot create key file ${path}`, e);
  }
}

/** Who a new key file must belong to: the old key's owner, so a rotation run as root leaves a key the service can read. */
export interface FileOwner {
  readonly uid: number;
  readonly gid: number;
}

function writePrivateFile(path: string, content: Buffer, owner?: FileOwner): void {
  // 'wx' refuses to follow or reuse an existing file; 0600 is set at creation, never widened by umask.
  const fd = openSync(path, 'wx', 0o600);
  try {
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    content.fill(0);
  }
}

/** Makes the rename durable. Some filesystems refuse fsync on a directory; the key is written either way. */
export function fsyncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* best effort */
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* nothing to clean */
  }
}

function keyIoError(what: string, cause: unknown): PasserelleError {
  if (cause instanceof PasserelleError) return cause;
  const code = (cause as NodeJS.ErrnoException).code ?? 'unknown error';
  return new PasserelleError('E_KEY_IO', `${what} (${code}); check the path and its directory permissions`, false, { cause });
}
