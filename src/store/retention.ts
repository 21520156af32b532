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
 * Deletes raw readings past their class's retention and delivered summaries past the grace period.
 * Deletion is real: secure_delete zeroes the freed cells and pages, and the write-ahead log, which still
 * holds the old page images, is checkpointed and truncated. Freed pages are reused by the next batches
 * (in steady state the file keeps its size); they go back to the file system only when they are many.
 */
export function purgeExpired(
  db: Database.Database,
  readings: ReadingsTable,
  outbox: OutboxTable,
  policy: RetentionPolicy,
  now: number,
): PurgeReport {
  const purge = db.transaction(() => {
    let n = readings.purgeClassBefore(undefined, now - DEFAULT_RETENTION_MS);
    for (const dataClass of DATA_CLASSES) {
      n += readings.purgeClassBefore(dataClass, now - (policy.byClass[dataClass] ?? DEFAULT_RETENTION_MS));
    }
    return { readings: n, delivered: outbox.purgeDeliveredBefore(now - policy.deliveredGraceMs) };
  });
  const report = purge();
  if (report.readings + report.delivered > 0) {
    releaseFreePagesIfMany(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  return report;
}
