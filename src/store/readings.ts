import type Database from 'better-sqlite3-multiple-ciphers';
import { pointKey, type BadReason, type DataClass, type Quality, type Reading } from '../core/types.js';

interface ReadingRow {
  device: string;
  point: string;
  ts: number;
  value: number | null;
  text: string | null;
  quality: Quality;
  reason: string | null;
}

/** Largest batch one `between` call returns, so a local tool cannot pull the whole table into memory. */
export const MAX_READINGS_PER_QUERY = 10_000;

/** Data class of each point (key `device.point`); a point missing from it keeps the default retention. */
export type PointClasses = ReadonlyMap<string, DataClass>;

/** Raw readings: numbers go to `value`, text points (TIC tariff period) to `text`, bad readings to neither. */
export class ReadingsTable {
  private readonly insert: Database.Statement;
  private readonly countAll: Database.Statement<[], number>;
  private readonly deleteBefore: Database.Statement<[number]>;
  private readonly deleteClassBefore: Database.Statement<[string, number]>;
  private readonly deleteUnclassedBefore: Database.Statement<[number]>;
  private readonly deleteOldestInserted: Database.Statement<[number]>;
  private readonly selectBetween: Database.Statement<[number, number, number], ReadingRow>;
  private readonly insertBatch: (readings: readonly Reading[]) => void;

  constructor(
    db: Database.Database,
    private readonly classes: PointClasses,
  ) {
    this.insert = db.prepare(
      'INSERT INTO readings (device, point, ts, value, text, quality, reason, class) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.countAll = db.prepare<[], number>('SELECT count(*) FROM readings').pluck();
    this.deleteBefore = db.prepare<[number]>('DELETE FROM readings WHERE ts < ?');
    this.deleteClassBefore = db.prepare<[string, number]>('DELETE FROM readings WHERE class = ? AND ts < ?');
    this.deleteUnclassedBefore = db.prepare<[number]>('DELETE FROM readings WHERE class IS NULL AND ts < ?');
    // rowid order is insertion order: "oldest" here means written first, which needs no sort.
    this.deleteOldestInserted = db.prepare<[number]>(
      'DELETE FROM readings WHERE rowid IN (SELECT rowid FROM readings ORDER BY rowid LIMIT ?)',
    );
    this.selectBetween = db.prepare<[number, number, number], ReadingRow>(
      'SELECT device, point, ts, value, text, quality, reason FROM readings WHERE ts >= ? AND ts < ? ORDER BY ts, rowid LIMIT ?',
    );
    this.insertBatch = db.transaction((readings: readonly Reading[]) => {
      for (const r of readings) this.insert.run(...this.toRow(r));
    });
  }

  /** All or nothing: one transaction per batch. */
  append(readings: readonly Reading[]): void {
    if (readings.length > 0) this.insertBatch(readings);
  }

  count(): number {
    return this.countAll.get() ?? 0;
  }

  /** Deletes readings sampled before `ts`, whatever their class; returns how many went. */
  purgeBefore(ts: number): number {
    return this.deleteBefore.run(ts).changes;
  }

  /** Deletes readings of `dataClass` (undefined: points without a class) sampled before `ts`. */
  purgeClassBefore(dataClass: DataClass | undefined, ts: number): number {
    return dataClass === undefined ? this.deleteUnclassedBefore.run(ts).changes : this.deleteClassBefore.run(dataClass, ts).changes;
  }

  /** Deletes up to `n` of the readings written first; returns how many went. */
  dropOldest(n: number): number {
    return this.deleteOldestInserted.run(n).changes;
  }

  /** Readings with from <= ts < to, oldest first, at most min(limit, MAX_READINGS_PER_QUERY). */
  between(from: number, to: number, limit: number): Reading[] {
    const bounded = Math.min(Math.floor(limit), MAX_READINGS_PER_QUERY);
    if (!(bounded > 0)) return [];
    return this.selectBetween.all(from, to, bounded).map(fromRow);
  }

  /** NaN has no SQL form: SQLite keeps it as NULL, so it reads back as null. */
  private toRow(r: Reading): InsertParams {
    const value = typeof r.value === 'number' ? r.value : null;
    const text = typeof r.value === 'string' ? r.value : null;
    const dataClass = this.classes.get(pointKey(r.device, r.point)) ?? null;
    return [r.device, r.point, r.ts, value, text, r.quality, r.reason ?? null, dataClass];
  }
}

type InsertParams = [string, string, number, number | null, string | null, Quality, string | null, DataClass | null];

function fromRow(row: ReadingRow): Reading {
  const value = row.value ?? row.text ?? null;
  const base = { device: row.device, point: row.point, ts: row.ts, value, quality: row.quality };
  return row.reason === null ? base : { ...base, reason: row.reason as BadReason };
}
