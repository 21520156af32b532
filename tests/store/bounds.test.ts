import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { Reading } from '../../src/core/types.js';
import { applyKey, type StoreCipher } from '../../src/store/cipher.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { Store, type StoreOptions } from '../../src/store/store.js';
import { keyFileWith, makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const NOW = 1_800_000_000_000;
/** Values with a random fraction (float64, which the store cannot deflate); their integer part numbers them. */
const batch = (from: number, n: number): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ device: 'meter', point: 'power', ts: NOW - 1_000_000 + from + i, value: from + i + Math.random() / 2, quality: 'good' }));

function options(extra: Partial<StoreOptions> = {}): StoreOptions {
  const dir = makeTempDir();
  return { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key'), now: () => NOW, ...extra };
}

describe('size cap', () => {
  it('drops the oldest raw readings first, stays under the cap, and counts every drop', () => {
    const maxBytes = 256 * 1024;
    const store = Store.open(options({ maxBytes }));
    try {
      let written = 0;
      // Raw batches are compact (a few bytes per reading): 120 000 readings exceed this cap.
      for (let i = 0; i < 60; i++) {
        store.appendReadings(batch(written, 2000));
        written += 2000;
      }
      store.enforceSizeCap();
      expect(store.usedBytes()).toBeLessThanOrEqual(maxBytes);
      const left = store.readingCount();
      expect(left).toBeLessThan(written);
      const { rawDropped, summariesDropped } = store.takeDropCounts();
      expect(rawDropped).toBe(written - left);
      expect(summariesDropped).toBe(0);
      // Oldest first: what is left is the most recent readings, without a gap.
      const first = store.readingsBetween(0, Number.MAX_SAFE_INTEGER, 1).map((r) => Math.floor(r.value as number));
      const last = store.readingsBetween(NOW - 1_000_000 + written - 10, Number.MAX_SAFE_INTEGER, 100).map((r) => Math.floor(r.value as number));
      expect(first).toEqual([written - left]);
      expect(last.at(-1)).toBe(written - 1);
      expect(store.takeDropCounts()).toEqual({ rawDropped: 0, summariesDropped: 0 });
    } finally {
      store.close();
    }
  });

  it('never drops a pending summary at the size cap, even with no raw reading left', () => {
    const store = Store.open(options({ maxBytes: 64 * 1024 }));
    try {
      const payload = randomBytes(2000); // stored as is: random bytes do not deflate
      for (let i = 0; i < 60; i++) store.enqueue({ id: `w${i}`, topic: 't', payload, createdAt: i });
      store.appendReadings(batch(0, 2000));
      store.enforceSizeCap();
      expect(store.count()).toBe(60);
      expect(store.readingCount()).toBe(0);
      expect(store.takeDropCounts()).toEqual({ rawDropped: 2000, summariesDropped: 0 });
    } finally {
      store.close();
    }
  });

  it('at the second cap (pending summaries alone) drops the oldest pending summary and counts it', () => {
    const store = Store.open(options({ maxOutboxBytes: 10_000 }));
    try {
      const payload = Buffer.alloc(3000, 1);
      for (let i = 0; i < 5; i++) store.enqueue({ id: `w${i}`, topic: 't', payload, createdAt: i });
      expect(store.peek(10).map((m) => m.id)).toEqual(['w2', 'w3', 'w4']);
      expect(store.takeDropCounts()).toEqual({ rawDropped: 0, summariesDropped: 2 });
    } finally {
      store.close();
    }
  });

  it('keeps drop counts across a restart until they are taken', () => {
    const opts = options({ maxOutboxBytes: 5000 });
    const store = Store.open(opts);
    const payload = Buffer.alloc(3000, 1);
    store.enqueue({ id: 'a', topic: 't', payload, createdAt: 1 });
    store.enqueue({ id: 'b', topic: 't', payload, createdAt: 2 });
    store.close();
    const reopened = Store.open(opts);
    try {
      expect(reopened.takeDropCounts().summariesDropped).toBe(1);
    } finally {
      reopened.close();
    }
  });

});

describe('migration from schema 1', () => {
  it('upgrades a version-1 store in place: data kept, incremental vacuum on, audit columns added', () => {
    const dir = makeTempDir();
    const path = join(dir, 'store.db');
    const keyFile = keyFileWith(dir, 'store.key');
    const cipher: StoreCipher = 'chacha20';
    const db = new Database(path);
    applyKey(db, cipher, Buffer.from(readFileSync(keyFile, 'latin1').trim(), 'hex'));
    db.pragma('journal_mode = WAL');
    db.exec(MIGRATIONS[0]!.sql);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO readings (device, point, ts, value, quality) VALUES ('d', 'p', ?, 1.5, 'good')").run(NOW);
    db.prepare("INSERT INTO outbox (id, topic, payload, created_at) VALUES ('w1', 't', x'00', 1)").run();
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(0);
    db.close();

    const store = Store.open({ path, keyFile, now: () => NOW, logger: silentLogger() });
    try {
      expect(store.storeInfo().schemaVersion).toBe(SCHEMA_VERSION);
      expect(store.readingCount()).toBe(1);
      expect(store.peek(10).map((m) => m.id)).toEqual(['w1']);
      store.ack('w1');
      expect(store.outboxEntries(10)[0]?.deliveredAt).toBe(NOW);
      expect(store.integrityCheck()).toEqual(['ok']);
    } finally {
      store.close();
    }
    const check = new Database(path);
    applyKey(check, cipher, Buffer.from(readFileSync(keyFile, 'latin1').trim(), 'hex'));
    expect(check.pragma('auto_vacuum', { simple: true })).toBe(2);
    check.close();
  });
});
