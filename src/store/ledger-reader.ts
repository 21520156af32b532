/**
 * The daily ledger read from a store another process may be running: a read-only connection, or a
 * snapshot when a running gateway holds the store (live-read.ts); no instance lock, no migration, nothing
 * written (`passerelle report` on a live gateway). What the gateway counted since its last commit (at most
 * one window) is still in its memory and not seen here.
 */
import type { StoreCipher } from './cipher.js';
import { resolveKeySource } from './key-source.js';
import { readExistingKey } from './keyfile.js';
import { LedgerTable, type LedgerPolicy } from './ledger.js';
import { openForReading } from './live-read.js';
import type { LedgerDay } from '../core/ledger.js';

export interface LedgerSource {
  readonly path: string;
  readonly keyFile: string;
  readonly cipher: StoreCipher;
  readonly env?: NodeJS.ProcessEnv;
}

export function readLedger(source: LedgerSource, from: string, to: string): { days: LedgerDay[]; policies: LedgerPolicy[] } {
  const keySource = resolveKeySource(source.keyFile, source.env);
  const key = readExistingKey(keySource.path, keySource.kind);
  try {
    const reader = openForReading(source.path, source.cipher, key);
    try {
      const ledger = new LedgerTable(reader.db);
      return { days: ledger.between(from, to), policies: ledger.policies() };
    } finally {
      reader.close();
    }
  } finally {
    key.fill(0);
  }
}
