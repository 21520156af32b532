/** Issue 14 item 4: the daily ledger rides on the store's existing commits and keeps 400 days, no values. */
import Database from 'better-sqlite3-multiple-ciphers';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/config/schema.js';
import { dayIn, LEDGER_KEEP_DAYS } from '../../src/core/ledger.js';
import type { WindowSummary } from '../../src/core/types.js';
import { windowLedger } from '../../src/gateway/ledger-figures.js';
import { snapshotCopy } from '../../src/store/live-read.js';
import { Store } from '../../src/store/store.js';
import { makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const DAY = 86_400_000;
// 2026-03-01 23:30 UTC is already 2 March in Paris: the ledger's day is the site's.
const T0 = Date.UTC(2026, 2, 1, 23, 30);
const POLICY = policySchema.parse({ allow: [{ match: 'room-*.temperature', statistics: ['mean'] }], minCount: {} });

const window: WindowSummary = {
  id: 'w', site: 's', gateway: 'g', start: T0, end: T0 + 300_000,
  points: [
    { device: 'room-1', point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge', count: 9, expected: 10, mean: 21.5, min: 20, max: 23, last: 22, bad: {} },
    { device: 'tic', point: 'ADCO', dataClass: 'identifier', measure: 'gauge', count: 5, expected: 5, last: '021861348497', bad: {} },
  ],
};

function openStore(now: () => number) {
  const dir = makeTempDir();
  const path = join(dir, 'store.db');
  return { path, store: Store.openUnencrypted({ path, now, timeZone: 'Europe/Paris' }) };
}

/** What another process sees on disk: only what was committed (a day's counters, and its points apart). */
function committedDays(path: string): { day: string; figures: string }[] {
  // The store holds its database locked: read a snapshot, as `passerelle report` does.
  const db = new Database(snapshotCopy(path, makeTempDir()), { readonly: true });
  try {
    const rows = db.prepare('SELECT l.day, l.figures, p.points FROM ledger l LEFT JOIN ledger_points p USING (day) ORDER BY day').all() as {
      day: string;
      figures: string;
      points: string | null;
    }[];
    return rows.map((r) => ({ day: r.day, figures: `${r.figures.slice(0, -1)},"points":${r.points ?? '{}'}}` }));
  } finally {
    db.close();
  }
}

/** Log pages one commit wrote (unencrypted store, 1 KiB pages: 1048-byte frames). */
function walFrames(path: string): number {
  const size = statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  return size === 0 ? 0 : (size - 32) / 1048;
}

describe('the daily ledger', () => {
  it("rewrites a day's points only when they change: a window's counters are a page or two, not the points again", () => {
    const now = T0 + 301_000;
    const { path, store } = openStore(() => now);
    const many: WindowSummary = {
      ...window,
      points: Array.from({ length: 50 }, (_, i) => ({ ...window.points[0]!, device: `room-${i}`, point: 'temperature' })),
    };
    try {
      const delta = { ...windowLedger(many, POLICY), policies: ['p'] };
      store.noteLedger(T0, delta);
      store.enqueue({ id: 'w1', topic: 't', payload: Buffer.from('x'), createdAt: now });
      const before = walFrames(path);
      store.noteLedger(T0 + 300_000, delta);
      store.enqueue({ id: 'w2', topic: 't', payload: Buffer.from('y'), createdAt: now });
      // the message (its row, payload, two indexes), the counters' row, page 1, a pointer map: no points
      expect(walFrames(path) - before).toBeLessThanOrEqual(8);
      expect(store.ledgerDays('2026-03-02', '2026-03-02')[0]).toMatchObject({ windows: 2 });
      expect(Object.keys(store.ledgerDays('2026-03-02', '2026-03-02')[0]!.points)).toHaveLength(50);
    } finally {
      store.close();
    }
  });

  it('is written inside the commit that queues the window, not in one of its own, on the site\'s day', () => {
    let now = T0 + 301_000;
    const { path, store } = openStore(() => now);
    store.enqueue({ id: 'm1', topic: 't', payload: Buffer.from('12345'), createdAt: T0 });
    store.noteLedger(window.start, windowLedger(window, POLICY), { hash: 'p1', json: JSON.stringify(POLICY) });
    expect(committedDays(path)).toEqual([]); // noted, not committed
    store.ack('m1');
    store.enqueueAll([{ id: 'm2', topic: 't', payload: Buffer.from('abc'), createdAt: T0 }]);
    const [row, ...more] = committedDays(path);
    expect(more).toEqual([]);
    expect(row!.day).toBe('2026-03-02');
    const figures = JSON.parse(row!.figures);
    expect(figures).toMatchObject({ windows: 1, goodReadings: 14, expectedReadings: 15, messagesSent: 1, bytesSent: 5, policies: [] });
    expect(figures.points['room-1.temperature']).toEqual({ dataClass: 'comfort', left: ['count', 'mean'], local: ['last', 'max', 'min'] });
    expect(figures.points['tic.ADCO']).toEqual({ dataClass: 'identifier', left: [], local: ['count', 'last'] });
    // No raw value, no identifier: the meter number and the temperatures are nowhere in the ledger.
    expect(row!.figures).not.toContain('021861348497');
    expect(row!.figures).not.toContain('21.5');
    expect(store.ledgerPolicies()).toEqual([{ hash: 'p1', firstDay: '2026-03-02', policy: JSON.stringify(POLICY) }]);
    now += 1000;
    store.close();
  });

  it('counts readings kept, refused messages and a second window into the same day, and survives a reopen', () => {
    const now = T0 + 400_000;
    const { path, store } = openStore(() => now);
    store.appendReadings([{ device: 'room-1', point: 'temperature', ts: T0, value: 20, quality: 'good' }]);
    store.enqueue({ id: 'r', topic: 't', payload: Buffer.from('x'), createdAt: T0 });
    store.refuse('r', 0x87);
    store.noteLedger(T0, windowLedger(window, POLICY));
    store.noteLedger(T0 + 300_000, windowLedger(window, POLICY));
    store.close();
    const again = Store.openUnencrypted({ path, now: () => now, timeZone: 'Europe/Paris' });
    const [day] = again.ledgerDays('2026-03-01', '2026-03-31');
    expect(day).toMatchObject({ day: '2026-03-02', windows: 2, readingsKept: 1, messagesRefused: 1, goodReadings: 28 });
    again.close();
  });

  it(`keeps ${LEDGER_KEEP_DAYS} days and deletes older ones at the next write`, () => {
    let now = T0;
    const { store } = openStore(() => now);
    store.noteLedger(T0, { windows: 1 });
    store.enqueue({ id: 'a', topic: 't', payload: Buffer.from('x'), createdAt: now });
    now = T0 + LEDGER_KEEP_DAYS * DAY;
    store.noteLedger(now, { windows: 1 });
    store.enqueue({ id: 'b', topic: 't', payload: Buffer.from('x'), createdAt: now });
    expect(store.ledgerDays('2000-01-01', '2100-01-01').map((d) => d.day)).toEqual(['2026-03-02', dayIn('Europe/Paris')(now)]);
    now += DAY;
    store.noteLedger(now, { windows: 1 });
    store.enqueue({ id: 'c', topic: 't', payload: Buffer.from('x'), createdAt: now });
    expect(store.ledgerDays('2000-01-01', '2100-01-01').map((d) => d.day)).not.toContain('2026-03-02');
    store.close();
  });
});

describe('the ledger read beside a running gateway (passerelle report)', () => {
  it('reads the committed days read-only while the gateway holds the store open, and writes nothing', async () => {
    const { readLedger } = await import('../../src/store/ledger-reader.js');
    const { statSync } = await import('node:fs');
    const dir = makeTempDir();
    const path = join(dir, 'store.db');
    const keyFile = join(dir, 'store.key');
    const now = T0 + 301_000;
    const store = Store.open({ path, keyFile, now: () => now, timeZone: 'Europe/Paris' });
    try {
      store.noteLedger(window.start, windowLedger(window, POLICY), { hash: 'p1', json: JSON.stringify(POLICY) });
      store.enqueueAll([{ id: 'm1', topic: 't', payload: Buffer.from('abc'), createdAt: T0 }]);
      const before = statSync(path).mtimeMs;
      const { days, policies } = readLedger({ path, keyFile, cipher: 'chacha20' }, '2026-03-01', '2026-03-31');
      expect(days.map((d) => [d.day, d.windows])).toEqual([['2026-03-02', 1]]);
      expect(policies.map((p) => p.hash)).toEqual(['p1']);
      expect(statSync(path).mtimeMs).toBe(before);
      // The gateway goes on writing after the report read.
      store.enqueueAll([{ id: 'm2', topic: 't', payload: Buffer.from('def'), createdAt: T0 }]);
      expect(store.count()).toBe(2);
    } finally {
      store.close();
    }
  });
});
