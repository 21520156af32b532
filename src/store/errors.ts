import { dirname } from 'node:path';
import { PasserelleError } from '../core/errors.js';

/**
 * SQLite and file-system failures as stable codes. A full disk, an I/O error and a lock wait may
 * clear by themselves (space freed, card reseated, local tool done): those are retryable, and the
 * transaction that failed was rolled back, so nothing is half-written. Anything else (a constraint
 * broken by bad data, a misuse) would fail again: not retryable.
 */
export function storeError(operation: string, path: string, e: unknown): PasserelleError {
  if (e instanceof PasserelleError) return e;
  const code = (e as { code?: unknown }).code;
  const detail = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new PasserelleError('E_STORE_FULL', `store ${path}: disk full during ${operation}; free space on its file system`, true, { cause: e });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN') {
    return new PasserelleError(
      'E_STORE_PERMISSION',
      `store ${path}: ${operation} failed (${String(code)}): the directory ${dirname(path)} must be writable by the user running passerelle (the store creates its file and a journal beside it)`,
      false,
      { cause: e },
    );
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) {
    return new PasserelleError('E_STORE_BUSY', `store ${path} is locked by another process (${operation})`, true, { cause: e });
  }
  if (typeof code === 'string' && (code.startsWith('SQLITE_IOERR') || code === 'EIO')) {
    return new PasserelleError('E_STORE_IO', `store ${path}: ${operation} failed on a disk error (${code}): ${detail}`, true, { cause: e });
  }
  return new PasserelleError('E_STORE_IO', `store ${path}: ${operation} failed: ${detail}`, false, { cause: e });
}
