/**
 * Ed25519 keys of operators. A key id is the SHA-256 of the public key (SPKI DER), so two entries of a
 * trust file can never be the same key under two names. Private keys are PEM files, mode 0600, opened
 * without following links.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { PasserelleError } from '../core/errors.js';
import { sha256Hex } from './dsse.js';

export interface KeyPair {
  readonly keyid: string;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

export const spkiOf = (publicKey: KeyObject): string => publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
export const keyidOf = (spkiBase64: string): string => sha256Hex(Buffer.from(spkiBase64, 'base64'));

export function generateKey(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { keyid: keyidOf(spkiOf(publicKey)), publicKey, privateKey };
}

export function publicKeyFromSpki(spkiBase64: string): KeyObject {
  const key = createPublicKey({ key: Buffer.from(spkiBase64, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new PasserelleError('E_REMOTE_KEY', 'only Ed25519 keys are accepted');
  return key;
}

const MAX_KEY_FILE = 4096;

/** Writes a private key to a new file (never over an existing one), mode 0600, flushed. */
export function writePrivateKeyFile(path: string, key: KeyObject): void {
  const pem = key.export({ type: 'pkcs8', format: 'pem' });
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, String(pem));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a private key file: refuses a link, a file others can read, anything but an Ed25519 key. */
export function readPrivateKeyFile(path: string): KeyPair {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'is a symbolic link (refused)' : code === 'ENOENT' ? 'does not exist' : `cannot be opened (${code})`;
    throw new PasserelleError('E_REMOTE_KEY', `private key file ${path} ${why}`);
  }
  try {
    const stat = fstatSync(fd);
    if ((stat.mode & 0o077) !== 0)
      throw new PasserelleError('E_REMOTE_KEY', `private key file ${path} is readable by other users: run chmod 600 ${path}`);
    if (stat.size > MAX_KEY_FILE) throw new PasserelleError('E_REMOTE_KEY', `${path} is not a private key file (too large)`);
    const buf = Buffer.alloc(stat.size);
    readSync(fd, buf, 0, stat.size, 0);
    const privateKey = createPrivateKey(buf);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new PasserelleError('E_REMOTE_KEY', `${path} is not an Ed25519 key`);
    const publicKey = createPublicKey(privateKey);
    return { keyid: keyidOf(spkiOf(publicKey)), publicKey, privateKey };
  } catch (e) {
    if (e instanceof PasserelleError) throw e;
    throw new PasserelleError('E_REMOTE_KEY', `${path} is not a PEM private key`);
  } finally {
    closeSync(fd);
  }
}
