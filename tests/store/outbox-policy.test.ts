/**
 * Issue 16, low: messages queued under a looser policy were sent after the policy was tightened. Each
 * pending message records the hash of its policy; on start the gateway drops (and counts) the others.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { applyKey } from '../../src/store/cipher.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/schema.js';
import { Store } from '../../src/store/store.js';
import { keyFileWith, makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const message = (id: string, policy?: string) => ({ id, topic: 't', payload: Buffer.from(id), createdAt: 1, ...(policy && { policy }) });

describe('the policy of queued messages', () => {
  it('is kept with each message, and messages of another or no policy are dropped and counted', () => {
    const dir = makeTempDir();
    const store = Store.open({ path: join(dir, 's.db'), keyFile: join(dir, 's.key'), logger: silentLogger() });
    try {
      store.enqueue(message('loose-1', 'loose'));
      store.enqueue(message('unknown'));
      store.enqueue(message('strict-1', 'strict'));
      store.enqueue(message('loose-delivered', 'loose'));
      store.ack('loose-delivered');
      expect(store.peek(10).map((m) => [m.id, m.policy])).toEqual([['loose-1', 'loose'], ['strict-1', 'strict'], ['unknown', undefined]]);
      expect(store.dropPendingNotUnder('strict')).toBe(2);
      expect(store.peek(10).map((m) => m.id)).toEqual(['strict-1']);
      expect(store.takeDropCounts()).toEqual({ rawDropped: 0, summariesDropped: 2 });
      expect(store.outboxEntries(10).map((e) => e.id)).toContain('loose-delivered'); // the audit trail stays
      expect(store.dropPendingNotUnder('strict')).toBe(0);
    } finally {
      store.close();
    }
  });

  it('migrates a version-2 store: its pending messages have no recorded policy and are dropped on the check', () => {
    const dir = makeTempDir();
    const path = join(dir, 'store.db');
    const keyFile = keyFileWith(dir, 'store.key');
    const db = new Database(path);
    applyKey(db, 'chacha20', Buffer.from(readFileSync(keyFile, 'latin1').trim(), 'hex'));
    db.exec(MIGRATIONS[0]!.sql);
    db.exec(MIGRATIONS[1]!.sql);
    db.pragma('user_version = 2');
    db.prepare("INSERT INTO outbox (id, topic, payload, created_at) VALUES ('old', 't', x'00', 1)").run();
    db.close();

    const store = Store.open({ path, keyFile, logger: silentLogger() });
    try {
      expect(store.storeInfo().schemaVersion).toBe(SCHEMA_VERSION);
      expect(store.peek(10)).toEqual([{ id: 'old', topic: 't', payload: Buffer.from([0]), createdAt: 1 }]);
      expect(store.dropPendingNotUnder('any')).toBe(1);
      expect(store.takeDropCounts().summariesDropped).toBe(1);
    } finally {
      store.close();
    }
  });
});
