import Database from 'better-sqlite3-multiple-ciphers';
import { PasserelleError } from '../core/errors.js';

/**
 * Ciphers offered by the site config (SQLite3MultipleCiphers names): authenticated ones only, each page
 * carries a MAC (Poly1305 for chacha20, HMAC-SHA512 for sqlcipher), so a page changed on the card is
 * refused instead of read. aes256cbc (no MAC) was removed: a store in it is not opened.
 */
export const STORE_CIPHERS = ['chacha20', 'sqlcipher'] as const;
export type StoreCipher = (typeof STORE_CIPHERS)[number];

export function assertCipher(cipher: string): asserts cipher is StoreCipher {
  if (cipher === 'aes256cbc') {
    throw new PasserelleError(
      'E_STORE_CIPHER',
      'store cipher aes256cbc is not authenticated (a page changed on the card goes undetected) and is no longer offered; use chacha20 or sqlcipher',
    );
  }
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
 * (no passphrase derivation).
 */
function keyMaterial(_cipher: StoreCipher, key: Buffer): Buffer {
  return Buffer.from(`x'${key.toString('hex')}'`, 'latin1');
}

/** SQLite reports a wrong key (or a file that is not an encrypted database) as SQLITE_NOTADB on the first read. */
export function isWrongKeyError(e: unknown): boolean {
  return e instanceof Database.SqliteError && e.code === 'SQLITE_NOTADB';
}
