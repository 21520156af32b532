import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readLedger } from '../../src/store/ledger-reader.js';
import { openForReading } from '../../src/store/live-read.js';
import { readExistingKey } from '../../src/store/keyfile.js';
import { Store } from '../../src/store/store.js';
import { startLiveWriter as startWriter } from './fixtures/start-live-writer.js';
import { makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const ledgerWindows = (dir: string): number =>
  readLedger({ path: join(dir, 'store.db'), keyFile: join(dir, 'store.key'), cipher: 'chacha20' }, '2026-03-02', '2026-03-02').days[0]?.windows ?? 0;

describe('a store held by a running gateway', () => {
  it('is written without a -shm file (the log index stays in memory) and read through consistent snapshots while it commits', async () => {
    const dir = makeTempDir();
    const writer = await startWriter(dir);
    const seen: number[] = [];
    try {
      expect(existsSync(join(dir, 'store.db-wal'))).toBe(true);
      expect(existsSync(join(dir, 'store.db-shm'))).toBe(false);
      const key = readExistingKey(join(dir, 'store.key'));
      for (let i = 0; i < 12; i++) {
        const reader = openForReading(join(dir, 'store.db'), 'chacha20', key);
        try {
          expect(reader.snapshot).toBe(true);
          expect(reader.db.pragma('quick_check', { simple: true })).toBe('ok');
        } finally {
          reader.close();
        }
        seen.push(ledgerWindows(dir));
        await new Promise((r) => setTimeout(r, 50));
      }
      key.fill(0);
    } finally {
      const committed = await writer.stop();
      // every snapshot saw a committed state, later ones no earlier than the ones before
      expect(seen[0]).toBeGreaterThan(0);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      expect(seen.at(-1)).toBeLessThanOrEqual(committed);
      expect(seen.at(-1)).toBeGreaterThan(seen[0]!);
    }
    // stopped: read directly, nothing copied
    const key = readExistingKey(join(dir, 'store.key'));
    const reader = openForReading(join(dir, 'store.db'), 'chacha20', key);
    expect(reader.snapshot).toBe(false);
    reader.close();
    key.fill(0);
  });

  it('leaves no snapshot behind', () => {
    const dir = makeTempDir();
    const store = Store.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') });
    try {
      store.appendReadings([{ device: 'd', point: 'p', ts: Date.now(), value: 1, quality: 'good' }]);
      const before = snapshotsLeft();
      const key = readExistingKey(join(dir, 'store.key'));
      const reader = openForReading(join(dir, 'store.db'), 'chacha20', key);
      expect(reader.snapshot).toBe(true); // a second connection, even in the same process, finds it locked
      expect((reader.db.prepare('SELECT count(*) AS n FROM raw_batches').get() as { n: number }).n).toBe(1);
      reader.close();
      key.fill(0);
      expect(snapshotsLeft()).toEqual(before);
    } finally {
      store.close();
    }
  });
});

describe('after a crash', () => {
  it('the restart reads the log back and leaves no index file beside the store', async () => {
    const dir = makeTempDir();
    const writer = await startWriter(dir);
    await writer.crash();
    expect(existsSync(join(dir, 'store.db-wal'))).toBe(true);
    const store = Store.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') });
    try {
      // the read-only key check rebuilt the log's index in a -shm file; the gateway keeps its own in memory
      expect(readdirSync(dir).sort()).toEqual(['store.db', 'store.db-wal', 'store.key']);
      expect(store.ledgerDays('2026-03-02', '2026-03-02')[0]!.windows).toBeGreaterThan(0);
    } finally {
      store.close();
    }
  });
});

function snapshotsLeft(): string[] {
  return [...(existsSync('/dev/shm') ? readdirSync('/dev/shm') : []), ...readdirSync(tmpdir())].filter((f) => f.startsWith('passerelle-read-')).sort();
}
