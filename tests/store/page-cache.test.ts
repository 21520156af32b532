/**
 * Issue 11 item 3: the store's page cache is sized to a gateway's work, not to the store. This build of
 * SQLite defaults to 16 MB, which the pages of retention and recovery scans would fill as a store grows
 * (and keep in RSS). Real parts: an encrypted store file.
 */
import type Database from 'better-sqlite3-multiple-ciphers';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PAGE_CACHE_KIB, Store } from '../../src/store/store.js';
import { makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

it('bounds its page cache at 2 MiB, on a new store and on one opened again', () => {
  const dir = makeTempDir();
  const opts = { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') };
  for (let open = 0; open < 2; open++) {
    const store = Store.open(opts);
    try {
      const db = (store as unknown as { db: Database.Database }).db;
      expect(PAGE_CACHE_KIB).toBe(2048);
      expect(db.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    } finally {
      store.close();
    }
  }
});
