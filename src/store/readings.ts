import type Database from 'better-sqlite3-multiple-ciphers';
import type { BadReason, Quality, Reading } from '../core/types.js';

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

/** Raw readings: numbers go to `value`, text points (TIC tariff period) to `text`, bad readings to neither. */
export class ReadingsTable {
  private readonly insert: Database.Statement;
  private readonly countAll: Database.Statement<[], number>;
  private readonly deleteBefore: Database.Statement<[number]>;
  private readonly selectBetween: Database.Statement<[number, number, number], ReadingRow>;
  private readonly insertBatch: (readings: readonly Reading[]) => void;

  constructor(db: Database.Database) {
    this.insert = db.prepare(
      'INSERT INTO readings (device, point, ts, value, text, quality, reason) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.countAll = db.prepare<[], number>('SELECT count(*) FROM readings').pluck();
    this.deleteBefore = db.prepare<[number]>('DELETE FROM readings WHERE ts < ?');
    this.selectBetween = db.prepare<[number, number, number], ReadingRow>(
      'SELECT device, point, ts, value, text, quality, reason FROM readings WHERE ts >= ? AND ts < ? ORDER BY ts, rowid LIMIT ?',
    );
    this.insertBatch = db.transaction((readings: readonly Reading[]) => {
      for (const r of readings) this.insert.run(...toRow(r));
    });
  }

  /** All or nothing: one transaction per batch. */
  append(readings: readonly Reading[]): void {
    if (readings.length > 0) this.insertBatch(readings);
  }

  count(): number {
    return this.countAll.get() ?? 0;
  }

  /** Deletes readings sampled before `ts`; returns how many went. */
  purgeBefore(ts: number): number {
    return this.deleteBefore.run(ts).changes;
  }

  /** Readings with from <= ts < to, oldest first, at most min(limit, MAX_READINGS_PER_QUERY). */
  between(from: number, to: number, limit: number): Reading[] {
    const bounded = Math.min(Math.floor(limit), MAX_READINGS_PER_QUERY);
    if (!(bounded > 0)) return [];
    return this.selectBetween.all(from, to, bounded).map(fromRow);
  }
}

type InsertParams = [string, string, number, number | null, string | null, Quality, string | null];

/** NaN has no SQL form: SQLite keeps it as NULL, so it reads back as null. */
function toRow(r: Reading): InsertParams {
  const value = typeof r.value === 'number' ? r.value : null;
  const text = typeof r.value === 'string' ? r.value : null;
  return [r.device, r.point, r.ts, value, text, r.quality, r.reason ?? null];
}

function fromRow(row: ReadingRow): Reading {
  const value = row.value ?? row.text ?? null;
  const base = { device: row.device, point: row.point, ts: row.ts, value, quality: row.quality };
  return row.reason === null ? base : { ...base, reason: row.reason as BadReason };
}
