/**
 * Opening a secret file (store key, MQTT password, TLS client key) or a store file that is about to be
 * overwritten, without trusting whoever can write the directory it sits in.
 *
 * The gateway's service account owns its state directory. An admin later runs `erase` or `keys rotate`
 * as root there: a symbolic link planted as `site.db-journal` would make root overwrite its target
 * (/etc/shadow), a hard link likewise. So every such file is opened with O_NOFOLLOW, and the open
 * descriptor (not the path, which can change under us) is checked: a regular file, one link only when
 * it will be overwritten, an allowed owner, no permission for group/others, and, on Linux, really at the
 * path asked for (no symbolic link in a parent directory).
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { PasserelleError } from './errors.js';

/** What can be wrong with a secret file; each maps to a stable error code. */
export type SecretProblem = 'link' | 'type' | 'perms' | 'owner' | 'size' | 'moved' | 'io';

export interface SecretFileRules {
  /** What the file is, for messages: "store key file", "MQTT password file". */
  readonly what: string;
  /** Allowed owner uids; default this process's user and root. */
  readonly owners?: readonly number[];
  /** Which permission bits are refused: 0o077 (default, group and others) or 0o007 (others only). */
  readonly refusedBits?: number;
  /** Refuse a file with several hard links (a file that will be overwritten must be ours alone). */
  readonly singleLink?: boolean;
  /** Refuse a file larger than this (and read at most this many bytes). */
  readonly maxBytes?: number;
  /** Error codes per problem; default E_SECRET_<PROBLEM>. */
  readonly codes?: Partial<Record<SecretProblem, string>>;
}

export interface OpenSecret {
  readonly fd: number;
  readonly stat: Stats;
}

const { O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR } = constants;

/**
 * Opens `path` read-only (or read-write) without following a link, then checks the descriptor.
 * Returns undefined when the file does not exist. The caller closes the descriptor.
 */
export function openSecretFile(path: string, rules: SecretFileRules, writable = false): OpenSecret | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted in place of the file must not hang the open; it is refused below.
    fd = openSync(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw problem(rules, 'link', `${rules.what} ${path} is a symbolic link; replace it with the file itself`);
    if (code === 'ENXIO') throw problem(rules, 'type', `${rules.what} ${path} is not a regular file`);
    throw problem(rules, 'io', `cannot open ${rules.what} ${path} (${code ?? 'unknown error'}); check the path and its permissions`, e);
  }
  try {
    const stat = fstatSync(fd);
    checkDescriptor(path, fd, stat, rules);
    return { fd, stat };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** Reads a whole secret file after the checks of openSecretFile; undefined when it does not exist. */
export function readSecretFile(path: string, rules: SecretFileRules): Buffer | undefined {
  const opened = openSecretFile(path, rules);
  if (!opened) return undefined;
  try {
    const limit = rules.maxBytes ?? 64 * 1024;
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= limit; length += n) n = readSync(opened.fd, buffer, length, buffer.length - length, null);
    if (length > limit) {
      buffer.fill(0);
      throw problem(rules, 'size', `${rules.what} ${path} is larger than ${limit} bytes: not a ${rules.what}`);
    }
    const content = Buffer.from(buffer.subarray(0, length));
    buffer.fill(0);
    return content;
  } finally {
    closeSync(opened.fd);
  }
}

function checkDescriptor(path: string, fd: number, stat: Stats, rules: SecretFileRules): void {
  if (!stat.isFile()) throw problem(rules, 'type', `${rules.what} ${path} is not a regular file`);
  if (rules.maxBytes !== undefined && stat.size > rules.maxBytes) {
    throw problem(rules, 'size', `${rules.what} ${path} is ${stat.size} bytes, more than a ${rules.what} holds (${rules.maxBytes})`);
  }
  if (rules.singleLink && stat.nlink > 1) {
    throw problem(rules, 'link', `${rules.what} ${path} has ${stat.nlink} hard links: it may be another file; remove the extra links`);
  }
  const owners = rules.owners ?? defaultOwners();
  if (!owners.includes(stat.uid)) {
    throw problem(rules, 'owner', `${rules.what} ${path} belongs to user id ${stat.uid}, not to the gateway's user (${owners.join(' or ')}); check who wrote it, then chown it`);
  }
  const refused = rules.refusedBits ?? 0o077;
  if ((stat.mode & refused) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw problem(rules, 'perms', `${rules.what} ${path} is accessible to other users (mode ${mode}); only the gateway user may read it: run chmod 600 ${path}`);
  }
  const real = openedPath(fd);
  if (real !== undefined && real !== resolve(path)) {
    throw problem(rules, 'moved', `${rules.what} ${path} is reached through a symbolic link (it is ${real}); write the real path in the config`);
  }
}

/** The path the kernel opened (Linux); undefined where /proc is not available. */
function openedPath(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

export const defaultOwners = (): number[] => {
  const me = process.geteuid?.() ?? 0;
  return me === 0 ? [0] : [me, 0];
};

function problem(rules: SecretFileRules, kind: SecretProblem, message: string, cause?: unknown): PasserelleError {
  const code = rules.codes?.[kind] ?? `E_SECRET_${kind.toUpperCase()}`;
  return new PasserelleError(code, message, false, cause === undefined ? undefined : { cause });
}
