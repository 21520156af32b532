import type Database from 'better-sqlite3-multiple-ciphers';
import type { Logger } from '../core/logger.js';
import type { DropCounters } from './drops.js';
import type { OutboxTable } from './outbox.js';
import type { ReadingsTable } from './readings.js';

/** Default size cap of the database pages in use. */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
/** Default second cap: pending (undelivered) summaries alone; only beyond it is a summary ever dropped. */
export const DEFAULT_MAX_OUTBOX_BYTES = 64 * 1024 * 1024;
/** At the cap, drop down to this share of it, so the next batches do not each trigger a drop. */
const LOW_WATER_SHARE = 0.9;
/** Rows deleted per step at the cap: small enough for short transactions, large enough to make progress. */
const DROP_CHUNK_ROWS = 2000;

export interface SizeLimits {
  readonly maxBytes: number;
  readonly maxOutboxBytes: number;
}

export interface Tables {
  readonly db: Database.Database;
  readonly readings: ReadingsTable;
  readonly outbox: OutboxTable;
  readonly drops: DropCounters;
}

/** Bytes of database pages holding data: page_count and freelist_count come from the header, so this is cheap. */
export function usedBytes(db: Database.Database): number {
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  return (pages - free) * pageSize;
}

/**
 * Enforces maxBytes: drops the raw readings written first, chunk by chunk, down to the low-water mark;
 * then delivered summaries kept for the audit trail. Never a pending summary (see enforceOutboxCap).
 * Each chunk is one transaction with its drop count. Returns the raw readings dropped.
 */
export function enforceSizeCap(t: Tables, limits: SizeLimits, logger: Logger): number {
  if (usedBytes(t.db) <= limits.maxBytes) return 0;
  const target = limits.maxBytes * LOW_WATER_SHARE;
  let raw = 0;
  let delivered = 0;
  const dropRawChunk = t.db.transaction(() => {
    const n = t.readings.dropOldest(DROP_CHUNK_ROWS);
    t.drops.add('raw', n);
    return n;
  });
  while (usedBytes(t.db) > target) {
    const n = dropRawChunk();
    if (n === 0) break;
    raw += n;
  }
  while (usedBytes(t.db) > target) {
    const n = t.outbox.dropOldestDelivered(DROP_CHUNK_ROWS);
    if (n === 0) break;
    delivered += n;
  }
  releaseFreePagesIfMany(t.db);
  const used = usedBytes(t.db);
  logger.warn({ maxBytes: limits.maxBytes, usedBytes: used, rawDropped: raw, deliveredPurged: delivered }, 'store size cap reached: oldest raw readings dropped');
  if (used > limits.maxBytes) {
    logger.error({ maxBytes: limits.maxBytes, usedBytes: used }, 'store still above its size cap: only pending summaries are left (see store.maxOutboxBytes)');
  }
  return raw;
}

/**
 * Enforces maxOutboxBytes before a message of `incomingBytes` joins the pending summaries: drops the
 * oldest pending ones until it fits. Returns how many were dropped (counted with the deletion).
 */
export function enforceOutboxCap(t: Tables, limits: SizeLimits, incomingBytes: number, logger: Logger): number {
  if (t.outbox.pendingBytes() + incomingBytes <= limits.maxOutboxBytes) return 0;
  const dropOne = t.db.transaction(() => {
    const n = t.outbox.dropOldestPending(1);
    t.drops.add('summary', n);
    return n;
  });
  let dropped = 0;
  while (t.outbox.pendingBytes() + incomingBytes > limits.maxOutboxBytes && dropOne() > 0) dropped += 1;
  if (dropped > 0) {
    logger.error({ maxOutboxBytes: limits.maxOutboxBytes, dropped }, 'outbox cap reached: oldest undelivered summaries dropped');
  }
  return dropped;
}

/** Hands free pages back to the file system (auto_vacuum = INCREMENTAL), so the file shrinks after deletes. */
export function releaseFreePages(db: Database.Database): void {
  db.pragma('incremental_vacuum');
}

/** Share of the file's pages that must be free before they are handed back (moving pages costs writes). */
const RELEASE_FREE_SHARE = 0.25;

/**
 * Hands free pages back only when they are a large share of the file: freed pages are reused by the
 * next writes at no cost, whereas an incremental vacuum moves pages from the end of the file into the
 * holes (a rewrite of as many pages as were freed).
 */
export function releaseFreePagesIfMany(db: Database.Database): void {
  const pages = db.pragma('page_count', { simple: true }) as number;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (free > pages * RELEASE_FREE_SHARE) releaseFreePages(db);
}
