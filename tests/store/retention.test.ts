import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DataClass, Reading } from '../../src/core/types.js';
import { Store } from '../../src/store/store.js';
import { filesContaining, makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
const classes = new Map<string, DataClass>([
  ['meter.energy', 'energy'],
  ['room.co2', 'comfort'],
]);
const reading = (device: string, point: string, ageMs: number, value: number | string = 1): Reading => ({
  device,
  point,
  ts: NOW - ageMs,
  value,
  quality: 'good',
});

function open(extra: Partial<Parameters<typeof Store.open>[0]> = {}) {
  const dir = makeTempDir();
  let clock = NOW;
  const store = Store.open({
    path: join(dir, 'store.db'),
    keyFile: join(dir, 'store.key'),
    pointClasses: classes,
    retention: { energy: 30 * DAY, comfort: 1 * DAY },
    deliveredGraceMs: 2 * DAY,
    now: () => clock,
    ...extra,
  });
  return { dir, store, setClock: (t: number) => (clock = t) };
}

describe('retention per data class', () => {
  it('purges each class after its own retention, the rest (and unknown points) after 7 days', () => {
    const { store } = open();
    try {
      store.appendReadings([
        reading('meter', 'energy', 29 * DAY), // kept: energy keeps 30 days
        reading('meter', 'energy', 31 * DAY), // purged
        reading('room', 'co2', 0.5 * DAY), // kept
        reading('room', 'co2', 2 * DAY), // purged: comfort keeps 1 day
        reading('unknown', 'x', 6 * DAY), // kept: default 7 days
        reading('unknown', 'x', 8 * DAY), // purged
      ]);
      // appendReadings ran the retention already (first batch); run it again: nothing more goes.
      expect(store.applyRetention(NOW)).toEqual({ readings: 0, delivered: 0 });
      const left = store.readingsBetween(0, NOW + 1, 100).map((r) => `${r.device}.${r.point}@${(NOW - r.ts) / DAY}`);
      expect(left.sort()).toEqual(['meter.energy@29', 'room.co2@0.5', 'unknown.x@6']);
    } finally {
      store.close();
    }
  });

  it('reports how many readings a later run purges, as time passes', () => {
    const { store } = open();
    try {
      store.appendReadings([reading('room', 'co2', 0), reading('meter', 'energy', 0)]);
      expect(store.applyRetention(NOW + 1.5 * DAY)).toEqual({ readings: 1, delivered: 0 });
      expect(store.applyRetention(NOW + 31 * DAY)).toEqual({ readings: 1, delivered: 0 });
      expect(store.readingCount()).toBe(0);
    } finally {
      store.close();
    }
  });
});

describe('delivered summaries: audit trail, then purge', () => {
  const message = (id: string, createdAt: number) => ({ id, topic: 't', payload: Buffer.from(`payload ${id}`), createdAt });

  it('ack marks the message delivered: out of peek and count, still in the audit trail with its time', () => {
    const { store, setClock } = open();
    try {
      store.enqueue(message('w1', NOW));
      store.enqueue(message('w2', NOW + 1));
      setClock(NOW + 5000);
      store.ack('w1');
      store.ack('w1'); // a second ack keeps the first delivery time
      expect(store.count()).toBe(1);
      expect(store.peek(10).map((m) => m.id)).toEqual(['w2']);
      expect(store.outboxEntries(10)).toEqual([
        { id: 'w1', topic: 't', createdAt: NOW, deliveredAt: NOW + 5000, bytes: 10 },
        { id: 'w2', topic: 't', createdAt: NOW + 1, bytes: 10 },
      ]);
    } finally {
      store.close();
    }
  });

  it('purges delivered messages after the grace period, never pending ones', () => {
    const { store } = open();
    try {
      store.enqueue(message('old', NOW - 10 * DAY));
      store.enqueue(message('pending', NOW - 10 * DAY));
      store.ack('old'); // delivered at NOW
      expect(store.applyRetention(NOW + 1.9 * DAY).delivered).toBe(0);
      expect(store.applyRetention(NOW + 2.1 * DAY).delivered).toBe(1);
      expect(store.outboxEntries(10).map((e) => e.id)).toEqual(['pending']);
    } finally {
      store.close();
    }
  });
});

describe('deletion is real', () => {
  const marked = (marker: string, n: number) =>
    Array.from({ length: n }, (_, i) => reading('room', 'co2', 3 * DAY + i, `${marker}:${i}`));

  it('control: a plain SQLite delete without secure_delete leaves the text on disk (the scan can fail)', () => {
    const dir = makeTempDir();
    const marker = `GONE-${randomBytes(6).toString('hex')}`;
    const db = new Database(join(dir, 'plain.db'));
    db.pragma('secure_delete = OFF');
    db.exec('CREATE TABLE t (x TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 200; i++) insert.run(`${marker}:${i}`);
    db.exec('DELETE FROM t');
    db.close();
    expect(filesContaining(dir, Buffer.from(marker))).toEqual(['plain.db']);
  });

  it('purged readings leave no trace in the database nor its log (checked on an unencrypted store)', () => {
    const dir = makeTempDir();
    const marker = `GONE-${randomBytes(6).toString('hex')}`;
    const store = Store.openUnencrypted({ path: join(dir, 'store.db'), pointClasses: classes, retention: { comfort: 10 * DAY }, now: () => NOW });
    try {
      // one reading per batch: a lone reading does not deflate, so its text is stored as is (visible here)
      for (const r of marked(marker, 40)) store.appendReadings([r]);
      expect(filesContaining(dir, Buffer.from(marker)).length).toBeGreaterThan(0); // visible: this store is plain
      expect(store.applyRetention(NOW + 8 * DAY).readings).toBe(40);
      expect(filesContaining(dir, Buffer.from(marker))).toEqual([]);
    } finally {
      store.close();
    }
    expect(filesContaining(dir, Buffer.from(marker))).toEqual([]);
  });
});

/** Commits found in the write-ahead log after frame `from` (1 KiB pages: 1048-byte frames; a commit frame holds the database size). */
function walCommitsSince(path: string, from: number): { frames: number; commits: number } {
  const wal = readFileSync(`${path}-wal`);
  let commits = 0;
  let frames = 0;
  for (let off = 32 + from * 1048; off + 1048 <= wal.length; off += 1048) {
    frames++;
    if (wal.readUInt32BE(off + 4) !== 0) commits++;
  }
  return { frames, commits };
}

describe('the periodic retention rides on a data commit', () => {
  it('expired batches go in the window commit itself: no commit, sync or checkpoint of their own', () => {
    const dir = makeTempDir();
    const path = join(dir, 'store.db');
    let clock = NOW;
    const store = Store.openUnencrypted({ path, pointClasses: classes, retention: { comfort: 1 * DAY }, now: () => clock });
    try {
      store.appendReadings([reading('room', 'co2', 0), reading('meter', 'energy', 0)]);
      clock = NOW + 2 * DAY; // the comfort reading is past its day; the energy one is kept (7 days)
      const logFrames = walCommitsSince(path, 0).frames;
      store.enqueueAll([{ id: 'w1', topic: 't', payload: Buffer.from('summary'), createdAt: clock }], clock, [
        { device: 'room', point: 'co2', ts: clock - 1000, value: 2, quality: 'good' },
      ]);
      // the log was neither checkpointed nor truncated, and one commit was added: the window's
      expect(walCommitsSince(path, logFrames).commits).toBe(1);
      expect(store.readingsBetween(0, clock + 1, 10).map((r) => `${r.device}.${r.point}@${r.ts - NOW}`)).toEqual([
        'meter.energy@0',
        `room.co2@${2 * DAY - 1000}`,
      ]);
      // not again before an hour has passed
      clock += 59 * 60_000;
      const again = walCommitsSince(path, 0).frames;
      store.appendReadings([{ device: 'room', point: 'co2', ts: NOW, value: 3, quality: 'good' }]); // already expired, kept until the next run
      expect(walCommitsSince(path, again).commits).toBe(1);
      expect(store.readingsBetween(0, NOW + 1, 10)).toHaveLength(2);
      clock += 60_000;
      store.appendReadings([{ device: 'room', point: 'co2', ts: clock, value: 4, quality: 'good' }]);
      expect(store.readingsBetween(0, NOW + 1, 10).map((r) => r.value)).toEqual([1]); // the energy reading alone
    } finally {
      store.close();
    }
  });
});
