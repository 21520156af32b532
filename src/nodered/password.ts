/**
 * The editor's admin password: only its bcrypt hash is kept, in a 0600 file written by
 * `passerelle nodered passwd`. Without that file there is no editor at all (no default password).
 */
import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import { PasserelleError } from '../core/errors.js';
import { readSecretFile } from '../core/secret-file.js';

export const MIN_PASSWORD_LENGTH = 10;
/** bcrypt cost: about 0.1 s per login on a Pi 4, slow enough for guessing, fast enough for a person. */
const BCRYPT_COST = 10;
/**
 * Passwords that are public: the example in Node-RED's settings.js and securing docs ("password"), and the
 * defaults scanners try first. A hash of one of them is refused wherever it comes from.
 */
const PUBLIC_PASSWORDS = ['password', 'admin', 'nodered', 'node-red', 'passerelle', 'raspberry', '123456'];
/** Node-RED's own example hash (settings.js), refused by value as well. */
export const NODE_RED_EXAMPLE_HASH = '$2a$08$zZWtXTja0fB1pzD4sHCMyOCMYz2Z6dNbM6tl8sJogENOMcxWV9DN.';
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/** Why this password is refused, or undefined when it may be used. */
export function passwordProblem(password: string): string | undefined {
  if (password.trim().length === 0) return 'the password is empty';
  if ([...password].length < MIN_PASSWORD_LENGTH) return `the password is shorter than ${MIN_PASSWORD_LENGTH} characters`;
  if (PUBLIC_PASSWORDS.some((p) => password.toLowerCase().startsWith(p) && password.length <= p.length + 3))
    return 'the password is a published default (or one with a few characters added)';
  return undefined;
}

export const hashPassword = (password: string): string => bcrypt.hashSync(password, BCRYPT_COST);

/** Why a stored hash is refused (not bcrypt, a public password), or undefined. */
export function hashProblem(hash: string): string | undefined {
  if (!BCRYPT_HASH.test(hash)) return 'it is not a bcrypt hash (write it with passerelle nodered passwd)';
  if (hash === NODE_RED_EXAMPLE_HASH) return "it is Node-RED's published example hash";
  // A hash of our cost was written by `passerelle nodered passwd`, which refused public passwords before
  // hashing; trying them again would cost a second each on a Pi, at every start. Others (Node-RED's own
  // hash-pw uses cost 8, docs copy-pasted) are tried against them.
  if (bcrypt.getRounds(hash) < BCRYPT_COST && PUBLIC_PASSWORDS.some((p) => bcrypt.compareSync(p, hash)))
    return 'it is the hash of a published default password';
  return undefined;
}

/** The admin hash, or undefined when no password was set yet. Throws when the file is unsafe or wrong. */
export function readAdminHash(file: string): string | undefined {
  const bytes = readSecretFile(file, { what: 'Node-RED admin password file', maxBytes: 256, codes: { perms: 'E_NODERED_HASH_PERMS' } });
  if (bytes === undefined) return undefined;
  const hash = bytes.toString('utf8').trim();
  const problem = hashProblem(hash);
  if (problem) throw new PasserelleError('E_NODERED_HASH', `Node-RED admin password file ${file} is refused: ${problem}`);
  return hash;
}

/** Writes the hash (0600, atomically: a power cut leaves the old hash or the new one, never half). */
export function writeAdminHash(file: string, hash: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, `${hash}\n`);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
}
