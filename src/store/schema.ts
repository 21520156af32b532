import type Database from 'better-sqlite3-multiple-ciphers';
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records the last one applied.
 * Append new steps (retention classes, size accounting, ...); never edit a released one.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

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
];

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
  for (const step of MIGRATIONS.filter((m) => m.version > current)) {
    db.transaction(() => {
      db.exec(step.sql);
      db.pragma(`user_version = ${step.version}`);
    })();
    logger.info({ version: step.version, description: step.description }, 'store schema migrated');
  }
  return SCHEMA_VERSION;
}
