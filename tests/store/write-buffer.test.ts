import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PasserelleError } from '../../src/core/errors.js';
import type { OutboxMessage } from '../../src/core/outbox.js';
import type { Reading } from '../../src/core/types.js';
import { Store } from '../../src/store/store.js';
import { WriteBuffer, type WriteTarget } from '../../src/store/write-buffer.js';
import { makeTempDir, removeTempDirs } from './helpers.js';

const NOW = Date.now();
const batch = (from: number, n: number, text = 'x'.repeat(40)): Reading[] =>
  Array.from({ length: n }, (_, i) => ({ device: 'meter', point: 'label', ts: NOW + from + i, value: `${text}${from + i}`, quality: 'good' }));
const message = (id: string): OutboxMessage => ({ id, topic: 't', payload: Buffer.from(`summary ${id}`), createdAt: NOW });

/** Commits in an unencrypted store's write-ahead log: frames whose header records a database size. */
function walCommits(path: string): number {
  const wal = readFileSync(`${path}-wal`);
  const frame = 24 + wal.readUInt32BE(8);
  let commits = 0;
  for (let at = 32; at + frame <= wal.length; at += frame) if (wal.readUInt32BE(at + 4) !== 0) commits += 1;
  return commits;
}

/** A target that fails as told: the bounds need many failures in a row, faster than filling a disk. */
class FlakyTarget implements WriteTarget {
  failure: PasserelleError | undefined = new PasserelleError('E_STORE_FULL', 'disk full', true);
  readonly readings: Reading[] = [];
  readonly messages: string[] = [];
  appendReadings(readings: readonly Reading[]): void {
    if (this.failure) throw this.failure;
    this.readings.push(...readings);
  }
  enqueue(m: OutboxMessage): boolean {
    if (this.failure) throw this.failure;
    this.messages.push(m.id);
    return true;
  }
}

describe('WriteBuffer bounds', () => {
  it('holds in order while failing, drops the oldest raw readings at its bound, counts them, and writes the rest when the store recovers', () => {
    const target = new FlakyTarget();
    const buffer = new WriteBuffer({ target, maxRawReadings: 250, maxMessages: 2, retryMs: 60_000 });
    for (let i = 0; i < 4; i++) buffer.appendReadings(batch(i * 100, 100));
    ['w1', 'w2', 'w3'].forEach((id) => buffer.enqueue(message(id)));
    expect(buffer.fault()).toBe('disk full');
    expect(buffer.held()).toEqual({ readings: 250, messages: 2 });
    expect(buffer.takeDropCounts()).toEqual({ rawDropped: 150, summariesDropped: 1 });

    target.failure = undefined;
    expect(buffer.retryNow()).toBe(true);
    expect(buffer.fault()).toBeUndefined();
    expect(target.messages).toEqual(['w2', 'w3']);
    expect(target.readings.map((r) => r.ts - NOW)).toEqual(Array.from({ length: 250 }, (_, i) => 150 + i));
    buffer.stop();
  });

  it('passes writes straight through while the store works', () => {
    const target = new FlakyTarget();
    target.failure = undefined;
    const buffer = new WriteBuffer({ target });
    buffer.appendReadings(batch(0, 3));
    buffer.enqueue(message('w1'));
    expect(buffer.held()).toEqual({ readings: 0, messages: 0 });
    expect(target.readings).toHaveLength(3);
    expect(buffer.fault()).toBeUndefined();
  });

  it("writes a window's messages in one store transaction, and holds them all in order when it fails", () => {
    const dir = makeTempDir();
    const store = Store.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') });
    try {
      const buffer = new WriteBuffer({ target: store });
      buffer.enqueueAll([message('s1'), message('s2'), message('h1')]);
      expect(store.peek(10).map((m) => m.id)).toEqual(['h1', 's1', 's2']); // same createdAt: by id
    } finally {
      store.close();
    }
    const target = new FlakyTarget();
    const enqueueAll = (ms: readonly OutboxMessage[]) => ms.map((m) => target.enqueue(m));
    const buffer = new WriteBuffer({ target: Object.assign(target, { enqueueAll }), retryMs: 60_000 });
    buffer.enqueueAll([message('a'), message('b')]);
    expect(buffer.held()).toEqual({ readings: 0, messages: 2 });
    target.failure = undefined;
    expect(buffer.retryNow()).toBe(true);
    expect(target.messages).toEqual(['a', 'b']);
  });

  it("writes the window mark in the transaction of the window's messages, and never without them", () => {
    const dir = makeTempDir();
    const opts = { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') };
    const store = Store.open(opts);
    expect(new WriteBuffer({ target: store }).enqueueAll([message('s1')], NOW)).toBe(true);
    store.close();
    const reopened = Store.open(opts);
    try {
      expect(reopened.windowsClosedBefore()).toBe(NOW);
      expect(reopened.peek(10).map((m) => m.id)).toEqual(['s1']);
    } finally {
      reopened.close();
    }
    const target = new FlakyTarget();
    const marks: (number | undefined)[] = [];
    const enqueueAll = (ms: readonly OutboxMessage[], mark?: number) => (ms.forEach((m) => target.enqueue(m)), marks.push(mark));
    const buffer = new WriteBuffer({ target: Object.assign(target, { enqueueAll }), retryMs: 60_000 });
    expect(buffer.enqueueAll([message('a')], NOW)).toBe(false); // held in memory: its window stays to rebuild
    target.failure = undefined;
    expect(buffer.enqueueAll([message('b')], NOW + 1)).toBe(false); // behind a held message: held too, in order
    expect(buffer.retryNow()).toBe(true);
    expect(target.messages).toEqual(['a', 'b']);
    expect(marks).toEqual([]);
    expect(buffer.enqueueAll([message('c')], NOW + 2)).toBe(true);
    expect(marks).toEqual([NOW + 2]);
  });

  it("writes the raw batch in the transaction of the window's messages (one commit per window), holds both when it fails", () => {
    const dir = makeTempDir();
    const path = join(dir, 'store.db');
    const store = Store.openUnencrypted({ path });
    try {
      store.enqueue(message('first'));
      const before = walCommits(path);
      expect(new WriteBuffer({ target: store }).enqueueAll([message('s1')], NOW, batch(0, 5))).toBe(true);
      expect(walCommits(path) - before).toBe(1);
      expect(store.readingCount()).toBe(5);
      expect(store.windowsClosedBefore()).toBe(NOW);
    } finally {
      store.close();
    }
    const target = new FlakyTarget();
    const enqueueAll = (ms: readonly OutboxMessage[], _mark?: number, rs: readonly Reading[] = []) => {
      target.appendReadings(rs);
      ms.forEach((m) => target.enqueue(m));
    };
    const buffer = new WriteBuffer({ target: Object.assign(target, { enqueueAll }), retryMs: 60_000 });
    expect(buffer.enqueueAll([message('a')], NOW, batch(0, 3))).toBe(false);
    expect(buffer.held()).toEqual({ readings: 3, messages: 1 });
    target.failure = undefined;
    expect(buffer.retryNow()).toBe(true);
    expect([target.messages, target.readings.length]).toEqual([['a'], 3]);
  });

  it('writes the summaries and the readings apart when the store refuses their common transaction for good', () => {
    const target = new FlakyTarget();
    target.failure = undefined;
    const enqueueAll = (ms: readonly OutboxMessage[], _mark?: number, rs: readonly Reading[] = []) => {
      if (rs.some((r) => r.value === 'poison')) throw new PasserelleError('E_STORE_IO', 'constraint failed', false);
      ms.forEach((m) => target.enqueue(m));
    };
    const buffer = new WriteBuffer({ target: Object.assign(target, { enqueueAll }) });
    const poisoned: Reading[] = [...batch(0, 2), { device: 'meter', point: 'label', ts: NOW, value: 'poison', quality: 'good' }];
    expect(buffer.enqueueAll([message('a')], NOW, poisoned)).toBe(true); // the summaries and their mark still go in
    expect(target.messages).toEqual(['a']);
    expect(target.readings.length).toBe(3); // appended alone (this target takes them)
    expect(buffer.takeDropCounts()).toEqual({ rawDropped: 0, summariesDropped: 0 });
  });

  it('drops (and counts) a batch the store refuses for good instead of retrying it forever', () => {
    const target = new FlakyTarget();
    target.failure = new PasserelleError('E_STORE_IO', 'constraint failed', false);
    const buffer = new WriteBuffer({ target });
    buffer.appendReadings(batch(0, 7));
    expect(buffer.held().readings).toBe(0);
    expect(buffer.fault()).toBeUndefined();
    expect(buffer.takeDropCounts().rawDropped).toBe(7);
  });
});

/**
 * A real full disk: a 1 MiB tmpfs mounted by the test (needs root or CAP_SYS_ADMIN; skipped, visibly,
 * where mount is refused). Growing it with remount is "space returns".
 */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const mountPoint = join(makeTempDir(), 'small-fs');
mkdirSync(mountPoint);
const mounted = mountTmpfs(mountPoint, '1m');
// Registered first, so it runs after the unmount below.
afterAll(removeTempDirs);

describe.skipIf(!mounted)('a real full disk (tmpfs of 1 MiB)', () => {
  afterAll(() => {
    execFileSync('umount', [mountPoint], { stdio: 'ignore' });
  });

  it('turns SQLITE_FULL into a retryable E_STORE_FULL, holds data, corrupts nothing, and resumes when space returns', async () => {
    const keyDir = makeTempDir();
    const store = Store.open({ path: join(mountPoint, 'store.db'), keyFile: join(keyDir, 'store.key') });
    let recovered = 0;
    const buffer = new WriteBuffer({ target: store, retryMs: 50, maxRawReadings: 1_000_000, onRecovered: () => recovered++ });
    let sent = 0;
    for (let i = 0; i < 400 && buffer.fault() === undefined; i++) {
      buffer.appendReadings(batch(sent, 200));
      sent += 200;
    }
    expect(buffer.fault()).toMatch(/disk full/);
    // Keep ingesting while full: the buffer holds, in memory, within its bound.
    buffer.appendReadings(batch(sent, 200));
    sent += 200;
    buffer.enqueue(message('while-full'));
    expect(buffer.held().readings).toBeGreaterThan(0);
    expect(buffer.held().messages).toBe(1);
    expect(store.integrityCheck()).toEqual(['ok']);

    execFileSync('mount', ['-o', 'remount,size=32m', mountPoint]);
    const deadline = Date.now() + 5000;
    while (buffer.fault() !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    expect(buffer.fault()).toBeUndefined();
    expect(recovered).toBe(1);
    expect(buffer.held()).toEqual({ readings: 0, messages: 0 });
    expect(store.readingCount()).toBe(sent);
    expect(store.peek(10).map((m) => m.id)).toEqual(['while-full']);
    expect(store.integrityCheck()).toEqual(['ok']);
    buffer.stop();
    store.close();
  });
});
