import type Database from 'better-sqlite3-multiple-ciphers';
import { DATA_CLASSES, type DataClass } from '../core/types.js';
import { releaseFreePagesIfMany } from './bounds.js';
import type { OutboxTable } from './outbox.js';
import type { ReadingsTable } from './readings.js';

const DAY_MS = 86_400_000;
/** Raw readings of a class without its own retention (and of points without a known class). */
export const DEFAULT_RETENTION_MS = 7 * DAY_MS;
/** Delivered summaries stay this long after the broker's acknowledgement: the local audit trail. */
export const DEFAULT_DELIVERED_GRACE_MS = 7 * DAY_MS;

export interface RetentionPolicy {
  /** Per data class, in ms; classes not listed keep DEFAULT_RETENTION_MS. */
  readonly byClass: Readonly<Partial<Record<DataClass, number>>>;
  readonly deliveredGraceMs: number;
}

export interface PurgeReport {
  readonly readings: number;
  readonly delivered: number;
}

/**
 * Deletes raw readings past their class's retention and delivered summaries past the grace period,
 * inside the caller's transaction (no commit, no checkpoint of its own). With the connection's
 * `secure_delete = FAST`, deleted cells are overwritten within the pages that stay in use; whole freed pages
 * keep their (encrypted) content until the next batches reuse them.
 */
export function deleteExpired(readings: ReadingsTable, outbox: OutboxTable, policy: RetentionPolicy, now: number): PurgeReport {
  let n = readings.purgeClassBefore(undefined, now - DEFAULT_RETENTION_MS);
  for (const dataClass of DATA_CLASSES) {
    n += readings.purgeClassBefore(dataClass, now - (policy.byClass[dataClass] ?? DEFAULT_RETENTION_MS));
  }
  return { readings: n, delivered: outbox.purgeDeliveredBefore(now - policy.deliveredGraceMs) };
}

/**
 * Retention on demand, with deletion made real at once: in its own transaction with `secure_delete = ON`
 * (freed pages zeroed too), then the write-ahead log, which still holds the old page images, is
 * checkpointed and truncated. The periodic retention (Store, with a window's commit) uses deleteExpired.
 */
export function purgeExpired(
  db: Database.Database,
  readings: ReadingsTable,
  outbox: OutboxTable,
  policy: RetentionPolicy,
  now: number,
): PurgeReport {
  const previous = db.pragma('secure_delete', { simple: true });
  db.pragma('secure_delete = ON');
  try {
    const report = db.transaction(() => deleteExpired(readings, outbox, policy, now))();
    if (report.readings + report.delivered > 0) {
      releaseFreePagesIfMany(db);
      db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return report;
  } finally {
    db.pragma(`secure_delete = ${previous === 1 ? 'ON' : previous === 2 ? 'FAST' : 'OFF'}`);
  }
}
