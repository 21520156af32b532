/**
 * Where a store belongs, and who may own its files. The store's owner is the owner of the directory
 * that holds it (the service account, e.g. systemd's StateDirectory). Its files must belong to that
 * owner or to root (a root-run tool may have made one): a file owned by anyone else was not made by
 * Passerelle. The directory itself must be a real directory, reached without a symbolic link, that
 * only its owner can write: in a shared directory anyone could plant files where the store's go.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PasserelleError } from '../core/errors.js';
import { defaultOwners, type SecretFileRules } from '../core/secret-file.js';

/** The owner uid of the directory holding `file`, after checking it is a place a store belongs. */
export function storeOwner(file: string): number | undefined {
  const dir = dirname(resolve(file));
  let stat;
  try {
    stat = lstatSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw pathError(`cannot inspect directory ${dir} (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  if (stat.isSymbolicLink()) throw pathError(`${dir} is a symbolic link; write the real directory in the config`);
  // A file where the directory should be: nothing can be planted under it; creating the store fails later, with its own message.
  if (!stat.isDirectory()) return undefined;
  const real = realpathSync(dir);
  if (real !== dir) throw pathError(`${dir} is reached through a symbolic link (it is ${real}); write the real directory in the config`);
  if ((stat.mode & 0o022) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw pathError(`directory ${dir} is writable by other users (mode ${mode}); a store belongs in a directory only its owner can write (chmod 700 ${dir})`);
  }
  return stat.uid;
}

/** Checks for a file of the store: no link, an allowed owner, and `extra` rules. */
export function storeFileRules(file: string, what: string, extra: Partial<SecretFileRules> = {}): SecretFileRules {
  const owner = storeOwner(file);
  const owners = [...new Set([...(owner === undefined ? [] : [owner]), ...defaultOwners()])];
  return { what, owners, ...extra };
}

const pathError = (message: string): PasserelleError => new PasserelleError('E_STORE_PATH', `store path: ${message}`);
