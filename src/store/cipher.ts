import Database from 'better-sqlite3-multiple-ciphers';
import { PasserelleError } from '../core/errors.js';

/** Ciphers offered by the site config (SQLite3MultipleCiphers names). */
export const STORE_CIPHERS = ['chacha20', 'sqlcipher', 'aes256cbc'] as const;
export type StoreCipher = (typeof STORE_CIPHERS)[number];

export function assertCipher(cipher: string): asserts cipher is StoreCipher {
  if (!(STORE_CIPHERS as readonly string[]).includes(cipher)) {
    throw new PasserelleError('E_STORE_CIPHER', `unknown store cipher "${cipher}" (use one of ${STORE_CIPHERS.join(', ')})`);
  }
}

/**
 * Selects the cipher, then gives the key to a connection that has read nothing yet.
 * SQLite3MultipleCiphers needs `PRAGMA cipher` before the key; the key only takes effect on the first read.
 */
export function applyKey(db: Database.Database, cipher: StoreCipher, key: Buffer): void {
  db.pragma(`cipher = '${cipher}'`);
  const material = keyMaterial(cipher, key);
  try {
    const rc = db.key(material);
    if (rc !== 0) throw new PasserelleError('E_STORE_OPEN', `cannot set the store key (SQLite code ${rc})`);
  } finally {
    material.fill(0);
  }
}

/**
 * Re-encrypts every page with `key`, in one transaction. SQLite3MultipleCiphers refuses this in WAL
 * mode: the caller switches the journal to DELETE first (see rotate.ts).
 */
export function applyRekey(db: Database.Database, cipher: StoreCipher, key: Buffer): void {
  const material = keyMaterial(cipher, key);
  try {
    const rc = db.rekey(material);
    if (rc !== 0) throw new PasserelleError('E_STORE_REKEY', `cannot re-key the store (SQLite code ${rc})`);
  } finally {
    material.fill(0);
  }
}

/**
 * chacha20 and sqlcipher accept SQLCipher's raw-key form x'<64 hex>' and use the 256 bits directly
 * (no passphrase derivation). aes256cbc has no raw form: it hashes its passphrase after cutting it to
 * 32 bytes, so it gets the 32 key bytes themselves (the hex form would keep only 120 bits).
 */
function keyMaterial(cipher: StoreCipher, key: Buffer): Buffer {
  if (cipher === 'aes256cbc') return Buffer.from(key);
  return Buffer.from(`x'${key.toString('hex')}'`, 'latin1');
}

/** SQLite reports a wrong key (or a file that is not an encrypted database) as SQLITE_NOTADB on the first read. */
export function isWrongKeyError(e: unknown): boolean {
  return e instanceof Database.SqliteError && e.code === 'SQLITE_NOTADB';
}
