import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../src/core/types.js';
import { eraseLocalData } from '../../src/store/erase.js';
import { Store } from '../../src/store/store.js';
import { keyFileWith, makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const NOW = 1_800_000_000_000;

/** Every file under dir, recursively, whose bytes contain the needle. */
function filesContainingDeep(dir: string, needle: Buffer): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => {
    const path = join(dir, name);
    return statSync(path).isFile() && readFileSync(path).includes(needle);
  });
}

function markedStore(dir: string, marker: string) {
  const config = { store: { path: join(dir, 'data', 'store.db'), keyFile: join(dir, 'keys', 'store.key') } };
  const store = Store.open({ ...config.store, now: () => NOW });
  const readings: Reading[] = Array.from({ length: 1000 }, (_, i) => ({ device: 'tic', point: 'PTEC', ts: NOW - i, value: `${marker}:${i}`, quality: 'good' }));
  store.appendReadings(readings);
  store.enqueue({ id: 'w1', topic: 't', payload: Buffer.from(`{"marker":"${marker}"}`), createdAt: NOW });
  return { config, store };
}

describe('eraseLocalData', () => {
  it('the marker is nowhere in clear while stored, and nowhere at all after erase; the files are gone', async () => {
    const dir = makeTempDir();
    const marker = `ERASE-${randomBytes(8).toString('hex')}`;
    const { config, store } = markedStore(dir, marker);
    store.close();
    // Leftovers a crash may leave: a rotation's .next key and a half-created key file.
    keyFileWith(join(dir, 'keys'), 'store.key.next');
    writeFileSync(join(dir, 'keys', 'store.key.123.abcd.tmp'), 'ab'.repeat(32), { mode: 0o600 });
    expect(filesContainingDeep(dir, Buffer.from(marker))).toEqual([]);
    const keyHex = readFileSync(config.store.keyFile, 'latin1').trim();

    const report = await eraseLocalData(config, {});

    expect(report.erased.map((f) => f.path).sort()).toEqual(
      [config.store.path, config.store.keyFile, `${config.store.keyFile}.next`, join(dir, 'keys', 'store.key.123.abcd.tmp')].sort(),
    );
    expect(report.erased.every((f) => f.bytes > 0)).toBe(true);
    expect(readdirSync(join(dir, 'data'))).toEqual([]);
    expect(readdirSync(join(dir, 'keys'))).toEqual([]);
    expect(filesContainingDeep(dir, Buffer.from(marker))).toEqual([]);
    expect(filesContainingDeep(dir, Buffer.from(keyHex))).toEqual([]);
  });

  it('erases the write-ahead log of a store that crashed (never closed)', async () => {
    const dir = makeTempDir();
    const { config } = markedStore(dir, `ERASE-${randomBytes(8).toString('hex')}`);
    // No close: the -wal exists, as after a power cut (no -shm: the log's index is kept in memory).
    expect(existsSync(`${config.store.path}-wal`)).toBe(true);
    const report = await eraseLocalData(config, {});
    expect(report.erased.map((f) => f.path)).toEqual(expect.arrayContaining([`${config.store.path}-wal`, config.store.path, config.store.keyFile]));
    expect(readdirSync(join(dir, 'data'))).toEqual([]);
  });

  it('is a no-op on a site with no local data', async () => {
    const dir = makeTempDir();
    expect((await eraseLocalData({ store: { path: join(dir, 'none.db'), keyFile: join(dir, 'none.key') } }, {})).erased).toEqual([]);
  });

  it('says it cannot remove a systemd credential, and wipes the data files', async () => {
    const dir = makeTempDir();
    const credentials = makeTempDir();
    keyFileWith(credentials, 'passerelle-store-key');
    const config = { store: { path: join(dir, 'store.db'), keyFile: join(dir, 'unused.key') } };
    Store.open({ ...config.store, env: { CREDENTIALS_DIRECTORY: credentials } }).close();
    expect(existsSync(config.store.keyFile)).toBe(false); // the credential was used, no key file created
    const report = await eraseLocalData(config, { CREDENTIALS_DIRECTORY: credentials });
    expect(report.credentialKept).toBe(join(credentials, 'passerelle-store-key'));
    expect(existsSync(config.store.path)).toBe(false);
  });
});

describe('systemd credential as key source', () => {
  it('opens with the credential, refuses with another, and never writes a key file', () => {
    const dir = makeTempDir();
    const credentials = makeTempDir();
    keyFileWith(credentials, 'passerelle-store-key');
    const opts = { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key'), env: { CREDENTIALS_DIRECTORY: credentials } };
    const store = Store.open(opts);
    store.appendReadings([{ device: 'd', point: 'p', ts: Date.now(), value: 1, quality: 'good' }]);
    store.close();
    expect(existsSync(opts.keyFile)).toBe(false);
    expect(() => Store.open({ ...opts, env: {} })).toThrow(/key file .* is missing/);
    const reopened = Store.open(opts);
    expect(reopened.readingCount()).toBe(1);
    reopened.close();
  });
});
