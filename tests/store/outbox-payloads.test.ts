/**
 * Issue 11 (flash writes): marking a summary delivered rewrote its whole row, payload included (about 11
 * pages of 1 KiB for a 50-point window). Schema 8 keeps payloads in a table of their own, so an
 * acknowledgement writes a few small pages; a store written under schema 7 keeps its summaries.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { applyKey } from '../../src/store/cipher.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import { keyFileWith, makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const NOW = Date.UTC(2026, 11, 2, 6, 0, 0);
const DAY_MS = 86_400_000;
const PAGE = 1024;
/** A WAL frame: its page and a 24-byte header. */
const walFrames = (path: string): number => {
  const size = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  return size === 0 ? 0 : (size - 32) / (PAGE + 24);
};

describe('an acknowledgement', () => {
  it('writes a few pages, not the payload again', () => {
    const dir = makeTempDir();
    const path = join(dir, 's.db');
    const store = Store.openUnencrypted({ path, now: () => NOW, logger: silentLogger() });
    try {
      // a window's summary of 50 points is about 11 KiB: 11 overflow pages of 1 KiB
      store.enqueue({ id: 'w1', topic: 't', payload: randomBytes(11 * 1024), createdAt: NOW, policy: 'p' });
      const before = walFrames(path);
      store.ack('w1');
      store.dropPendingNotUnder('p'); // a commit that carries the deferred acknowledgement and nothing else
      const written = walFrames(path) - before;
      expect(store.count()).toBe(0);
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThanOrEqual(5); // the row, its two partial indexes, page 1, a pointer map
    } finally {
      store.close();
    }
  });
});

describe('a payload', () => {
  it('is stored deflated when that is smaller, and given back byte for byte', () => {
    const dir = makeTempDir();
    const path = join(dir, 's.db');
    const senml = Buffer.from(
      JSON.stringify(Array.from({ length: 150 }, (_, i) => ({ n: `meter${i % 4}.point_${i}:mean`, u: 'V', v: 230 + Math.sin(i) * 3, t: i }))),
    );
    const noise = randomBytes(2000);
    const store = Store.openUnencrypted({ path, now: () => NOW, logger: silentLogger() });
    try {
      store.enqueue({ id: 'a', topic: 't', payload: senml, createdAt: 1 });
      store.enqueue({ id: 'b', topic: 't', payload: noise, createdAt: 2 });
      expect(store.peek(10).map((m) => m.payload)).toEqual([senml, noise]);
      expect(store.outboxEntries(10).map((e) => e.bytes)).toEqual([senml.length, noise.length]);
    } finally {
      store.close();
    }
    const db = new Database(path, { readonly: true });
    const stored = db.prepare('SELECT id, deflated, length(payload) AS n FROM outbox_payloads ORDER BY id').all() as { id: string; deflated: number; n: number }[];
    db.close();
    expect(stored[0]!.deflated).toBe(1);
    expect(stored[0]!.n).toBeLessThan(senml.length / 3);
    expect(stored[1]).toEqual({ id: 'b', deflated: 0, n: noise.length });
  });
});

describe('a store written under schema 7', () => {
  it('is migrated with its pending, delivered and refused summaries; payloads go with their messages', () => {
    const dir = makeTempDir();
    const path = join(dir, 'store.db');
    const keyFile = keyFileWith(dir, 'store.key');
    const db = new Database(path);
    applyKey(db, 'chacha20', Buffer.from(readFileSync(keyFile, 'latin1').trim(), 'hex'));
    db.pragma(`page_size = ${PAGE}`);
    db.pragma('journal_mode = WAL');
    db.pragma('auto_vacuum = 2');
    for (const step of MIGRATIONS.filter((m) => m.version <= 7)) {
      db.transaction(() => {
        db.exec(step.sql);
        step.inTransaction?.(db);
        db.pragma(`user_version = ${step.version}`);
      })();
    }
    const pending = randomBytes(3000);
    const insert = db.prepare('INSERT INTO outbox (id, topic, payload, created_at, policy, delivered_at, refused_at, refused_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('pending', 't/a', pending, NOW - 3000, 'p', null, null, null);
    insert.run('delivered', 't/b', randomBytes(2000), NOW - 2000, 'p', NOW - 1500, null, null);
    insert.run('refused', 't/c', randomBytes(100), NOW - 1000, 'p', null, NOW - 900, 0x87);
    // a ledger day written under schema 7: its points inline with its counters
    const point = { dataClass: 'energy', left: ['mean'], local: ['last'] };
    db.prepare('INSERT INTO ledger (day, figures) VALUES (?, ?)').run('2026-12-02', JSON.stringify({ windows: 3, points: { 'm.e': point } }));
    db.close();

    const store = Store.open({ path, keyFile, now: () => NOW, deliveredGraceMs: DAY_MS, logger: silentLogger() });
    try {
      expect(store.storeInfo().schemaVersion).toBe(SCHEMA_VERSION);
      expect(store.peek(10)).toEqual([{ id: 'pending', topic: 't/a', payload: pending, createdAt: NOW - 3000, policy: 'p' }]);
      expect(store.count()).toBe(1);
      expect(store.refusedCount()).toBe(1);
      expect(store.outboxEntries(10)).toEqual([
        { id: 'pending', topic: 't/a', createdAt: NOW - 3000, bytes: 3000 },
        { id: 'delivered', topic: 't/b', createdAt: NOW - 2000, bytes: 2000, deliveredAt: NOW - 1500 },
        { id: 'refused', topic: 't/c', createdAt: NOW - 1000, bytes: 100, refused: { at: NOW - 900, reasonCode: 0x87 } },
      ]);
      expect(store.ledgerDays('2026-12-02', '2026-12-02')).toMatchObject([{ day: '2026-12-02', windows: 3, points: { 'm.e': point } }]);
      store.noteLedger(NOW, { windows: 1, points: { 'm.p': point as never } });
      store.ack('pending');
      store.dropPendingNotUnder('p'); // a commit: the acknowledgement and the ledger
      expect(store.ledgerDays('2026-12-02', '2026-12-02')).toMatchObject([{ windows: 4, messagesSent: 1, bytesSent: 3000, points: { 'm.e': point, 'm.p': point } }]);
      expect(store.applyRetention(NOW + 2 * DAY_MS).delivered).toBe(3);
      expect(store.outboxEntries(10)).toEqual([]);
      expect(store.integrityCheck()).toEqual(['ok']);
    } finally {
      store.close();
    }
    const check = new Database(path);
    applyKey(check, 'chacha20', Buffer.from(readFileSync(keyFile, 'latin1').trim(), 'hex'));
    expect(check.prepare('SELECT count(*) FROM outbox_payloads').pluck().get()).toBe(0); // deleted with their rows
    check.close();
  });

  it('takes a delivered id queued again with its new payload', () => {
    const dir = makeTempDir();
    const store = Store.open({ path: join(dir, 's.db'), keyFile: join(dir, 's.key'), now: () => NOW, logger: silentLogger() });
    try {
      store.enqueue({ id: 'w', topic: 't', payload: Buffer.from('first'), createdAt: 1 });
      store.ack('w');
      store.dropPendingNotUnder('x'); // writes the acknowledgement
      expect(store.enqueue({ id: 'w', topic: 't', payload: Buffer.from('second'), createdAt: 2 })).toBe(true);
      expect(store.peek(10)).toEqual([{ id: 'w', topic: 't', payload: Buffer.from('second'), createdAt: 2 }]);
      expect(store.outboxEntries(10)).toEqual([{ id: 'w', topic: 't', createdAt: 2, bytes: 6 }]);
    } finally {
      store.close();
    }
  });
});
