import type Database from 'better-sqlite3-multiple-ciphers';

/**
 * What survives a crash about the windows: the instant before which every window was summarised
 * (the aggregator's "closed before"). Raw readings sampled at or after it belong to windows that
 * never reached the outbox: after a crash the gateway rebuilds them from the store (gateway/recovery.ts).
 * One small row, written once per closed window.
 */
export class WindowMark {
  private readonly select: Database.Statement<[], number>;
  private readonly upsert: Database.Statement<[number]>;
  private readonly selectLastTs: Database.Statement<[], number | null>;
  private readonly selectOutboxId: Database.Statement<[string], number>;

  constructor(private readonly db: Database.Database) {
    this.select = db.prepare<[], number>("SELECT value FROM state WHERE name = 'windows_closed_before'").pluck();
    this.upsert = db.prepare<[number]>(
      "INSERT INTO state (name, value) VALUES ('windows_closed_before', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    );
    this.selectLastTs = db.prepare<[], number | null>('SELECT max(ts_max) FROM raw_batches').pluck();
    this.selectOutboxId = db.prepare<[string], number>('SELECT 1 FROM outbox WHERE id = ?').pluck();
  }

  /** The remote-config trial canary (Store.writeCanary), in the same name/value table. */
  setCanary(value: number): void {
    this.db.prepare("INSERT INTO state (name, value) VALUES ('trial_canary', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value").run(value);
  }

  canary(): number | undefined {
    return this.db.prepare<[], number>("SELECT value FROM state WHERE name = 'trial_canary'").pluck().get();
  }

  /** undefined for a store no gateway has closed a window in yet (or made before schema 3). */
  closedBefore(): number | undefined {
    return this.select.get();
  }

  setClosedBefore(ts: number): void {
    this.upsert.run(ts);
  }

  /** Sampling time of the newest stored raw reading (one row per batch: a short scan, once at start). */
  lastReadingTs(): number | undefined {
    return this.selectLastTs.get() ?? undefined;
  }

  /** Whether the outbox holds (pending or delivered) a message with this id. */
  hasMessage(id: string): boolean {
    return this.selectOutboxId.get(id) !== undefined;
  }
}
