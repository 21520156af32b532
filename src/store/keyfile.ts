import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { dirname } from 'node:path';
import { PasserelleError } from '../core/errors.js';

/** The store key is 256 bits, kept as 64 hex characters and a newline. */
export const KEY_BYTES = 32;
const KEY_FILE_PATTERN = /^[0-9a-fA-F]{64}\n?$/;
/** Anything longer than hex + CRLF is not a key file; we refuse without reading it (bounded read). */
const KEY_FILE_MAX_BYTES = 2 * KEY_BYTES + 2;
const GROUP_OTHER_BITS = 0o077;

/**
 * Returns the store key from `path`, creating a fresh random key there on first start.
 * Errors name the file and the fix, never the key bytes.
 */
export function loadOrCreateKey(path: string): Buffer {
  const stat = statIfExists(path);
  return stat ? readKeyFile(path, stat) : createKeyFile(path);
}

/** Reads an existing key (file or systemd credential), with the same permission and format checks; never creates one. */
export function readExistingKey(path: string): Buffer {
  const stat = statIfExists(path);
  if (!stat) throw new PasserelleError('E_KEY_MISSING', `key file ${path} does not exist`);
  return readKeyFile(path, stat);
}

/**
 * Writes `key` to a new file at `path` (refusing an existing one), mode 0600, flushed to disk with its
 * directory entry before returning: used for the `.next` key of a rotation, which must be durable
 * before the database is re-keyed.
 */
export function writeNewKeyFile(path: string, key: Buffer): void {
  try {
    writePrivateFile(path, Buffer.from(`${key.toString('hex')}\n`, 'latin1'));
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

function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyIoError(`cannot inspect key file ${path}`, e);
  }
}

function readKeyFile(path: string, stat: Stats): Buffer {
  if (!stat.isFile()) throw new PasserelleError('E_KEY_FORMAT', `key file ${path} is not a regular file`);
  if ((stat.mode & GROUP_OTHER_BITS) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new PasserelleError(
      'E_KEY_PERMS',
      `key file ${path} is accessible to other users (mode ${mode}); only the gateway user may read it: run chmod 600 ${path}`,
    );
  }
  if (stat.size > KEY_FILE_MAX_BYTES) throw malformed(path);
  const raw = readOrThrow(path);
  try {
    const text = raw.toString('latin1');
    if (!KEY_FILE_PATTERN.test(text)) throw malformed(path);
    return Buffer.from(text.slice(0, 2 * KEY_BYTES), 'hex');
  } finally {
    raw.fill(0);
  }
}

function readOrThrow(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw keyIoError(`cannot read key file ${path}`, e);
  }
}

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

function writePrivateFile(path: string, content: Buffer): void {
  // 'wx' refuses to follow or reuse an existing file; 0600 is set at creation, never widened by umask.
  const fd = openSync(path, 'wx', 0o600);
  try {
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
