import Database from 'better-sqlite3-multiple-ciphers';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Reading } from '../../src/core/types.js';
import { applyKey, STORE_CIPHERS, type StoreCipher } from '../../src/store/cipher.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { Store, type StoreOptions } from '../../src/store/store.js';
import { capturingLogger, hashFiles, keyFileWith, makeTempDir, removeTempDirs, thrown } from './helpers.js';

afterEach(removeTempDirs);

const T0 = 1_700_000_000_000;
/** The store's clock is the sample's: retention (7 days) would otherwise purge readings from 2023. */
const testClock = () => T0 + 60_000;

function freshOptions(cipher?: StoreCipher): StoreOptions & { dir: string } {
  const dir = makeTempDir();
  return { dir, path: join(dir, 'data', 'store.db'), keyFile: join(dir, 'keys', 'store.key'), now: testClock, ...(cipher ? { cipher } : {}) };
}

const sample: Reading[] = [
  { device: 'meter-main', point: 'active_power', ts: T0, value: 1234.5, quality: 'good' },
  { device: 'meter-main', point: 'energy_import', ts: T0 + 1000, value: 987654321, quality: 'good' },
  { device: 'tic-main', point: 'PTEC', ts: T0 + 2000, value: 'HP..', quality: 'good' },
  { device: 'room-12', point: 'temperature', ts: T0 + 3000, value: null, quality: 'bad', reason: 'timeout' },
  { device: 'room-12', point: 'temperature', ts: T0 + 4000, value: 19.25, quality: 'stale', reason: 'stale' },
  { device: 'room-12', point: 'humidity', ts: T0 + 5000, value: 0, quality: 'good' },
];

/** Writes some data and closes, returning the options to reopen it. */
function populatedStore(cipher?: StoreCipher) {
  const opts = freshOptions(cipher);
  const store = Store.open(opts);
  store.appendReadings(sample);
  store.enqueue({ id: 'w1', topic: 't', payload: Buffer.from('summary'), createdAt: T0 });
  store.close();
  return opts;
}

describe('Store.open', () => {
  it('creates a private data directory, a 0600 database and the key file on first start', () => {
    const opts = freshOptions();
    const store = Store.open(opts);
    try {
      expect(statSync(join(opts.dir, 'data')).mode & 0o777).toBe(0o700);
      expect(statSync(opts.path).mode & 0o777).toBe(0o600);
      expect(statSync(opts.keyFile).mode & 0o777).toBe(0o600);
      expect(store.storeInfo()).toEqual({ path: opts.path, cipher: 'chacha20', schemaVersion: SCHEMA_VERSION });
    } finally {
      store.close();
    }
  });

  it('keeps a write-ahead log while open and folds it back on close', () => {
    const opts = freshOptions();
    const store = Store.open(opts);
    store.appendReadings(sample);
    expect(statSync(`${opts.path}-wal`).size).toBeGreaterThan(0);
    const openSize = store.sizeBytes();
    expect(openSize).toBeGreaterThan(statSync(opts.path).size);
    store.close();
    expect(existsSync(`${opts.path}-wal`)).toBe(false);
    expect(statSync(opts.path).size).toBeGreaterThan(0);
  });

  it('refuses a wrong key with E_STORE_KEY and leaves every file byte-identical', () => {
    const opts = populatedStore();
    const before = hashFiles(join(opts.dir, 'data'));

    const error = thrown(() => Store.open({ ...opts, keyFile: keyFileWith(opts.dir, 'other.key') }));

    expect(error.code).toBe('E_STORE_KEY');
    expect(error.message).toMatch(new RegExp(`^cannot open ${opts.path}: wrong key or not a Passerelle database`));
    expect(hashFiles(join(opts.dir, 'data'))).toEqual(before);
    const store = Store.open(opts); // the right key still works
    try {
      expect(store.readingCount()).toBe(sample.length);
    } finally {
      store.close();
    }
  });

  it('after a crash (log not yet folded back), a wrong key changes neither the database nor its log', () => {
    const opts = freshOptions();
    const live = Store.open(opts);
    live.appendReadings(sample);
    // Copying the files of a live store is what a power cut leaves behind.
    const crashDir = makeTempDir();
    for (const name of ['store.db', 'store.db-wal']) copyFileSync(join(opts.dir, 'data', name), join(crashDir, name));
    live.close();
    const crashed = { path: join(crashDir, 'store.db'), keyFile: opts.keyFile };
    const dbBefore = readFileSync(crashed.path);
    const walBefore = readFileSync(`${crashed.path}-wal`);

    expect(thrown(() => Store.open({ ...crashed, keyFile: keyFileWith(opts.dir, 'other.key') })).code).toBe('E_STORE_KEY');

    expect(readFileSync(crashed.path).equals(dbBefore)).toBe(true);
    expect(readFileSync(`${crashed.path}-wal`).equals(walBefore)).toBe(true);
    const recovered = Store.open(crashed);
    try {
      expect(recovered.readingCount()).toBe(sample.length);
    } finally {
      recovered.close();
    }
  });

  it.each(STORE_CIPHERS)('%s: a key differing only in its last byte is refused (all 256 bits count)', (cipher) => {
    const opts = freshOptions(cipher);
    const key = randomBytes(32);
    const keyFile = keyFileWith(opts.dir, 'right.key', key);
    Store.open({ ...opts, keyFile }).close();
    const nearKey = Buffer.from(key);
    nearKey[31] = nearKey[31]! ^ 0x01;

    expect(thrown(() => Store.open({ ...opts, keyFile: keyFileWith(opts.dir, 'near.key', nearKey) })).code).toBe('E_STORE_KEY');
    Store.open({ ...opts, keyFile }).close();
  });

  it('uses the key file bytes as the raw chacha20 key, so sqlite3mc tools can open the store with them', () => {
    const opts = populatedStore('chacha20');
    const hex = readFileSync(opts.keyFile, 'latin1').trim();
    // The SQLite3MultipleCiphers form a technician types in its shell: no passphrase derivation involved.
    const db = new Database(opts.path, { readonly: true });
    try {
      db.pragma("cipher = 'chacha20'");
      db.pragma(`key = 'raw:${hex}'`);
      expect(db.prepare('SELECT total(n) FROM raw_batches').pluck().get()).toBe(sample.length);
    } finally {
      db.close();
    }
  });

  it('refuses the right key with another cipher', () => {
    const opts = populatedStore('chacha20');
    const before = hashFiles(join(opts.dir, 'data'));
    expect(thrown(() => Store.open({ ...opts, cipher: 'sqlcipher' })).code).toBe('E_STORE_KEY');
    expect(hashFiles(join(opts.dir, 'data'))).toEqual(before);
  });

  it('refuses an unencrypted SQLite file and leaves it untouched', () => {
    const opts = freshOptions();
    const plainPath = join(opts.dir, 'plain.db');
    const plain = new Database(plainPath);
    plain.exec('CREATE TABLE t (x)');
    plain.close();
    const keyFile = keyFileWith(opts.dir, 'store.key');
    const before = hashFiles(opts.dir);

    expect(thrown(() => Store.open({ path: plainPath, keyFile })).code).toBe('E_STORE_KEY');
    expect(Object.keys(hashFiles(opts.dir)).filter((n) => n.startsWith('plain'))).toEqual(['plain.db']);
    expect(hashFiles(opts.dir)['plain.db']).toBe(before['plain.db']);
  });

  it('refuses to invent a new key for an existing database whose key file is missing', () => {
    const opts = populatedStore();
    const missing = join(opts.dir, 'keys', 'lost.key');
    const error = thrown(() => Store.open({ ...opts, keyFile: missing }));
    expect(error.code).toBe('E_STORE_KEY_MISSING');
    expect(error.message).toContain(missing);
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a key file readable by others before creating anything', () => {
    const opts = freshOptions();
    const keyFile = keyFileWith(opts.dir, 'loose.key');
    chmodSync(keyFile, 0o644);
    expect(thrown(() => Store.open({ ...opts, keyFile })).code).toBe('E_KEY_PERMS');
    expect(existsSync(opts.path)).toBe(false);
  });

  it('refuses a database written by a newer schema', () => {
    const opts = populatedStore();
    const key = Buffer.from(readFileSync(opts.keyFile, 'latin1').trim(), 'hex');
    const db = new Database(opts.path);
    applyKey(db, 'chacha20', key);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(thrown(() => Store.open(opts)).code).toBe('E_STORE_VERSION');
  });

  it('refuses an unknown cipher name', () => {
    const opts = freshOptions();
    expect(thrown(() => Store.open({ ...opts, cipher: 'rot13' as StoreCipher })).code).toBe('E_STORE_CIPHER');
  });

  it('never writes key material to the logs', () => {
    const { logger, lines } = capturingLogger();
    const opts = freshOptions();
    const store = Store.open({ ...opts, logger });
    store.appendReadings(sample);
    store.close();
    thrown(() => Store.open({ ...opts, keyFile: keyFileWith(opts.dir, 'other.key'), logger }));
    Store.open({ ...opts, logger }).close();

    const keyHex = readFileSync(opts.keyFile, 'latin1').trim();
    const log = lines.join('');
    expect(log).toContain('store opened');
    expect(log).toContain('created a new store key file');
    expect(log.toLowerCase()).not.toContain(keyHex.toLowerCase());
  });
});

describe('schema', () => {
  it('numbers migrations 1..n so user_version names the last one applied', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1));
  });

  it('does not re-run migrations on reopen', () => {
    const opts = populatedStore();
    const { logger, lines } = capturingLogger();
    Store.open({ ...opts, logger }).close();
    expect(lines.join('')).not.toContain('store schema migrated');
  });
});

describe('readings', () => {
  it('round-trips numbers, text, bad readings and reasons across a restart', () => {
    const opts = populatedStore();
    const store = Store.open(opts);
    try {
      expect(store.readingCount()).toBe(sample.length);
      expect(store.readingsBetween(0, Number.MAX_SAFE_INTEGER, 100)).toEqual(sample);
    } finally {
      store.close();
    }
  });

  it('returns readings in time order within [from, to), at most limit', () => {
    const opts = freshOptions();
    const store = Store.open(opts);
    try {
      store.appendReadings([...sample].reverse());
      const window = store.readingsBetween(T0 + 1000, T0 + 4000, 100);
      expect(window.map((r) => r.ts)).toEqual([T0 + 1000, T0 + 2000, T0 + 3000]);
      expect(store.readingsBetween(0, Number.MAX_SAFE_INTEGER, 2).map((r) => r.ts)).toEqual([T0, T0 + 1000]);
      expect(store.readingsBetween(0, Number.MAX_SAFE_INTEGER, 0)).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('appends a batch all or nothing', () => {
    const opts = freshOptions();
    const store = Store.open(opts);
    try {
      store.appendReadings(sample.slice(0, 2));
      const broken = { ...sample[0]!, quality: 'excellent' } as unknown as Reading;
      const error = thrown(() => store.appendReadings([sample[2]!, broken]));
      expect(error.code).toBe('E_STORE_IO');
      expect(store.readingCount()).toBe(2);
    } finally {
      store.close();
    }
  });

  it('purges readings strictly older than the cutoff and says how many', () => {
    const opts = freshOptions();
    const store = Store.open(opts);
    try {
      store.appendReadings(sample);
      expect(store.purgeReadingsBefore(T0 + 2000)).toBe(2);
      expect(store.readingsBetween(0, Number.MAX_SAFE_INTEGER, 100).map((r) => r.ts)[0]).toBe(T0 + 2000);
      expect(store.purgeReadingsBefore(T0 + 2000)).toBe(0);
      expect(store.readingCount()).toBe(sample.length - 2);
    } finally {
      store.close();
    }
  });
});

describe('lifecycle', () => {
  it('reports its size on disk and grows with data', () => {
    const opts = freshOptions();
    const store = Store.open(opts);
    try {
      const empty = store.sizeBytes();
      expect(empty).toBeGreaterThan(0);
      // random float64 values: 8 bytes each that no deflate shrinks
      store.appendReadings(Array.from({ length: 5000 }, (_, i) => ({ ...sample[0]!, ts: T0 + i, value: Math.random() })));
      expect(store.sizeBytes()).toBeGreaterThan(empty + 5000 * 8);
    } finally {
      store.close();
    }
  });

  it('closes twice without error and refuses use after close with E_STORE_CLOSED', () => {
    const opts = freshOptions();
    const store = Store.open(opts);
    store.close();
    store.close();
    expect(thrown(() => store.count()).code).toBe('E_STORE_CLOSED');
    expect(thrown(() => store.appendReadings(sample)).code).toBe('E_STORE_CLOSED');
    expect(readdirSync(join(opts.dir, 'data'))).toEqual(['store.db']);
  });
});
