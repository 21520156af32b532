import type Database from 'better-sqlite3-multiple-ciphers';
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BadReason, DataClass, Quality, Reading } from '../core/types.js';
import { ReadingsTable } from './readings.js';

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records the last one applied.
 * Append new steps; never edit a released one.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
  /** Work SQLite refuses inside a transaction (VACUUM), run just before the step's transaction. */
  readonly beforeTransaction?: (db: Database.Database) => void;
  /** Work done in code inside the step's transaction, after its SQL (moving rows to a new layout). */
  readonly inTransaction?: (db: Database.Database) => void;
}

/** PRAGMA auto_vacuum value for INCREMENTAL: freed pages can be handed back to the file system on demand. */
const AUTO_VACUUM_INCREMENTAL = 2;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'raw readings and the outbox',
    sql: `
      CREATE TABLE readings (
        device  TEXT    NOT NULL,
        point   TEXT    NOT NULL,
        ts      INTEGER NOT NULL,
        value   REAL,
        text    TEXT,
        quality TEXT    NOT NULL CHECK (quality IN ('good', 'stale', 'bad')),
        reason  TEXT
      );
      -- retention deletes by age
      CREATE INDEX readings_by_ts ON readings (ts);

      CREATE TABLE outbox (
        id         TEXT    NOT NULL PRIMARY KEY,
        topic      TEXT    NOT NULL,
        payload    BLOB    NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- drain order: oldest first, id breaks ties
      CREATE INDEX outbox_drain_order ON outbox (created_at, id);
    `,
  },
  {
    version: 2,
    description: 'retention per data class, delivered-summary audit trail, drop counters, incremental vacuum',
    // Stores made by version 1 have auto_vacuum NONE; switching needs one VACUUM (rewrites the file once).
    beforeTransaction: (db) => {
      if (db.pragma('auto_vacuum', { simple: true }) === AUTO_VACUUM_INCREMENTAL) return;
      db.pragma(`auto_vacuum = ${AUTO_VACUUM_INCREMENTAL}`);
      db.exec('VACUUM');
    },
    sql: `
      -- data class of the point, filled from the point map given at open; NULL = default retention
      ALTER TABLE readings ADD COLUMN class TEXT;
      -- retention deletes per class by age without scanning the classes kept longer
      CREATE INDEX readings_by_class_ts ON readings (class, ts);

      -- acknowledged summaries stay (delivered_at set) for the audit grace period, then are purged
      ALTER TABLE outbox ADD COLUMN delivered_at INTEGER;
      DROP INDEX outbox_drain_order;
      CREATE INDEX outbox_pending ON outbox (created_at, id) WHERE delivered_at IS NULL;
      CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

      -- drops at the size caps, kept until reported (survive a restart)
      CREATE TABLE drops (
        what TEXT    NOT NULL PRIMARY KEY CHECK (what IN ('raw', 'summary')),
        n    INTEGER NOT NULL
      );
      INSERT INTO drops (what, n) VALUES ('raw', 0), ('summary', 0);
    `,
  },
  {
    version: 3,
    description: 'gateway state that survives a crash (windows already summarised)',
    sql: `
      CREATE TABLE state (
        name  TEXT    NOT NULL PRIMARY KEY,
        value INTEGER NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: 'the policy each pending summary was built under',
    // NULL for messages queued before: their policy is unknown, so the next start drops them (counted).
    sql: `ALTER TABLE outbox ADD COLUMN policy TEXT;`,
  },
  {
    version: 5,
    description: 'compact raw readings: one encoded blob per batch and data class (SD card wear)',
    sql: `
      -- point names once; batches refer to them by id
      CREATE TABLE raw_points (
        id     INTEGER PRIMARY KEY,
        device TEXT    NOT NULL,
        point  TEXT    NOT NULL,
        UNIQUE (device, point)
      );
      -- id order is write order; ts_min/ts_max span the batch's readings (encoding: raw-codec.ts)
      CREATE TABLE raw_batches (
        id     INTEGER PRIMARY KEY,
        class  TEXT,
        ts_min INTEGER NOT NULL,
        ts_max INTEGER NOT NULL,
        n      INTEGER NOT NULL,
        data   BLOB    NOT NULL
      );
      -- retention deletes whole batches per class by their latest reading
      CREATE INDEX raw_batches_by_class ON raw_batches (class, ts_max);
    `,
    inTransaction: moveRowsToBatches,
  },
  {
    version: 6,
    description: 'summaries the broker refused for good, set aside',
    sql: `
      -- PUBACK reason >= 0x80 (not authorised, topic invalid, ...): never sent again, kept for the audit trail
      ALTER TABLE outbox ADD COLUMN refused_at INTEGER;
      ALTER TABLE outbox ADD COLUMN refused_reason INTEGER;
      DROP INDEX outbox_pending;
      CREATE INDEX outbox_pending ON outbox (created_at, id) WHERE delivered_at IS NULL AND refused_at IS NULL;
    `,
  },
  {
    version: 7,
    description: 'the daily ledger (transparency report): counts per day, no raw value, no identifier',
    sql: `
      -- one row per day of the site's time zone (YYYY-MM-DD), figures as JSON (core/ledger.ts); kept 400 days
      CREATE TABLE ledger (
        day     TEXT NOT NULL PRIMARY KEY,
        figures TEXT NOT NULL
      );
      -- each site policy in force, from the first day it was seen: what the report says was allowed out
      CREATE TABLE ledger_policies (
        hash      TEXT NOT NULL PRIMARY KEY,
        first_day TEXT NOT NULL,
        policy    TEXT NOT NULL
      );
    `,
  },
  {
    version: 8,
    description: 'outbox payloads and ledger points apart from the rows written often (SD card wear)',
    sql: `
      -- marking a message delivered changed its row's size, so SQLite rewrote the row with its payload's
      -- overflow pages; the payload now lives here, written once and deleted with its message.
      -- deflated = 1: stored compressed (raw deflate), when that is smaller; the message is the inflated bytes
      CREATE TABLE outbox_payloads (
        id       TEXT    NOT NULL PRIMARY KEY,
        deflated INTEGER NOT NULL DEFAULT 0,
        payload  BLOB    NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO outbox_payloads (id, payload) SELECT id, payload FROM outbox;
      ALTER TABLE outbox ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
      UPDATE outbox SET bytes = length(payload);
      ALTER TABLE outbox DROP COLUMN payload;
      -- every way a message leaves the outbox (purge, caps, policy change) takes its payload along
      CREATE TRIGGER outbox_payload_gone AFTER DELETE ON outbox
      BEGIN
        DELETE FROM outbox_payloads WHERE id = old.id;
      END;

      -- a day's points (name, class, statistics: a few KiB for 50 points) apart from its counters, which
      -- change every window: written only when they change (ledger rows written before keep theirs inline)
      CREATE TABLE ledger_points (
        day    TEXT NOT NULL PRIMARY KEY,
        points TEXT NOT NULL
      );
    `,
  },
];

/** Rows read per step when moving version-2 readings into batches: bounds the memory of the migration. */
const MIGRATION_CHUNK_ROWS = 5000;

interface LegacyRow {
  device: string;
  point: string;
  ts: number;
  value: number | null;
  text: string | null;
  quality: Quality;
  reason: string | null;
  class: DataClass | null;
}

/** Version 3: the one-row-per-reading table becomes batches, in write order, then is dropped. */
function moveRowsToBatches(db: Database.Database): void {
  const table = new ReadingsTable(db, new Map());
  const select = db.prepare<[number, number], LegacyRow & { rowid: number }>(
    'SELECT rowid, device, point, ts, value, text, quality, reason, class FROM readings WHERE rowid > ? ORDER BY rowid LIMIT ?',
  );
  let after = 0;
  for (;;) {
    const rows = select.all(after, MIGRATION_CHUNK_ROWS);
    if (rows.length === 0) break;
    after = rows.at(-1)!.rowid;
    const classOf = new Map<Reading, DataClass | null>();
    const readings = rows.map((row) => {
      const base = { device: row.device, point: row.point, ts: row.ts, value: row.value ?? row.text ?? null, quality: row.quality };
      const r: Reading = row.reason === null ? base : { ...base, reason: row.reason as BadReason };
      classOf.set(r, row.class);
      return r;
    });
    table.appendClassed(readings, (r) => classOf.get(r) ?? null);
  }
  db.exec('DROP TABLE readings');
}

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the schema up to SCHEMA_VERSION, one transaction per step. Returns the resulting version. */
export function migrate(db: Database.Database, logger: Logger): number {
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new PasserelleError(
      'E_STORE_VERSION',
      `store schema version ${current} is newer than this Passerelle understands (${SCHEMA_VERSION}); ` +
        `upgrade Passerelle rather than downgrading it on this gateway`,
    );
  }
  // auto_vacuum only takes effect if set before the first table exists: a new store gets it for free.
  if (current === 0) db.pragma(`auto_vacuum = ${AUTO_VACUUM_INCREMENTAL}`);
  for (const step of MIGRATIONS.filter((m) => m.version > current)) {
    step.beforeTransaction?.(db);
    db.transaction(() => {
      db.exec(step.sql);
      step.inTransaction?.(db);
      db.pragma(`user_version = ${step.version}`);
    })();
    logger.info({ version: step.version, description: step.description }, 'store schema migrated');
  }
  return SCHEMA_VERSION;
}
