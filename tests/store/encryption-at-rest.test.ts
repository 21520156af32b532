import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../src/core/types.js';
import { applyKey, STORE_CIPHERS } from '../../src/store/cipher.js';
import { Store } from '../../src/store/store.js';
import { filesContaining, makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

/** Distinct per run so a hit cannot come from another test's leftovers. */
const newMarker = (what: string) => `PASSERELLE-${what}-${randomBytes(8).toString('hex')}`;

const T0 = 1_700_000_000_000;
/** The store's clock is the readings': retention would otherwise purge readings this old. */
const clock = () => T0 + 3_600_000;

function markedReadings(marker: string, n: number): Reading[] {
  return Array.from({ length: n }, (_, i) => ({
    device: 'tic-main',
    point: 'PTEC',
    ts: T0 + i * 1000,
    value: `${marker}:${i}`,
    quality: 'good' as const,
  }));
}

function writeMarkers(store: Store, readingMarker: string, payloadMarker: string): void {
  store.appendReadings(markedReadings(readingMarker, 2000));
  for (let i = 0; i < 50; i++) {
    store.enqueue({ id: `w-${i}`, topic: 'p/site/gw', payload: Buffer.from(`{"n":"${payloadMarker}","i":${i}}`), createdAt: i });
  }
}

/** Files of the database itself: main file, write-ahead log, shared-memory index. */
const databaseFiles = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('store.db'));

describe('nothing readable on disk', () => {
  it('the scan finds the markers in an unencrypted database (control: the check can fail)', () => {
    const dir = makeTempDir();
    const readingMarker = newMarker('reading');
    const db = new Database(join(dir, 'plain.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x TEXT)');
    db.prepare('INSERT INTO t VALUES (?)').run(readingMarker);
    expect(filesContaining(dir, Buffer.from(readingMarker))).toEqual(['plain.db-wal']);
    db.close();
    expect(filesContaining(dir, Buffer.from(readingMarker))).toEqual(['plain.db']);
  });

  it.each(STORE_CIPHERS)('%s: reading text and outbox payloads never appear in clear, open or closed', (cipher) => {
    const dir = makeTempDir();
    const readingMarker = newMarker('reading');
    const payloadMarker = newMarker('payload');
    const keyFile = join(dir, 'store.key');
    const store = Store.open({ path: join(dir, 'store.db'), keyFile, cipher, now: clock });

    writeMarkers(store, readingMarker, payloadMarker);
    store.ack('w-0'); // a deleted message must not linger in clear either

    const key = Buffer.from(readFileSync(keyFile, 'latin1').trim(), 'hex');
    const secrets = [readingMarker, payloadMarker, key.toString('hex')].map((s) => Buffer.from(s)).concat(key);
    const expectNothingInClear = () => {
      expect(databaseFiles(dir).length).toBeGreaterThan(0);
      for (const secret of secrets) expect(filesContaining(dir, secret).filter((f) => f !== 'store.key')).toEqual([]);
    };

    // the log's index lives in the gateway's memory (locking_mode EXCLUSIVE): no -shm file at all
    expect(databaseFiles(dir).sort()).toEqual(['store.db', 'store.db-wal']);
    expectNothingInClear();
    store.close();
    expectNothingInClear();

    // The bytes as stored (a raw batch or payload may be deflated, so a marker need not appear in them
    // even without a cipher): read through SQLite with the key, a slice of each must not be in the files.
    const plain = new Database(join(dir, 'store.db'), { readonly: true });
    let stored: Buffer[];
    try {
      applyKey(plain, cipher, key);
      const blobs = (sql: string) => (plain.prepare(sql).pluck().all() as Uint8Array[]).map((b) => Buffer.from(b));
      stored = [...blobs('SELECT data FROM raw_batches'), ...blobs('SELECT payload FROM outbox_payloads')];
    } finally {
      plain.close();
    }
    expect(stored.length).toBeGreaterThan(1);
    for (const blob of stored) {
      const slice = blob.subarray(Math.max(0, (blob.length >> 1) - 16), (blob.length >> 1) + 16);
      expect(slice.length).toBeGreaterThanOrEqual(16);
      expect(filesContaining(dir, slice).filter((f) => f !== 'store.key')).toEqual([]);
    }

    // And the data is really there: reopening with the key reads it back.
    const reopened = Store.open({ path: join(dir, 'store.db'), keyFile, cipher, now: clock });
    try {
      expect(reopened.readingCount()).toBe(2000);
      expect(reopened.peek(1)[0]?.payload.toString()).toContain(payloadMarker);
    } finally {
      reopened.close();
    }
  });
});
