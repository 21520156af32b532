import type Database from 'better-sqlite3-multiple-ciphers';
import { pointKey, type DataClass, type Reading } from '../core/types.js';
import { decodeBatch, encodeBatch } from './raw-codec.js';

/** Largest batch one `between` call returns, so a local tool cannot pull the whole table into memory. */
export const MAX_READINGS_PER_QUERY = 10_000;

/** Data class of each point (key `device.point`); a point missing from it keeps the default retention. */
export type PointClasses = ReadonlyMap<string, DataClass>;

interface BatchRow {
  id: number;
  ts_min: number;
  n: number;
  data: Buffer;
}

interface PointRow {
  id: number;
  device: string;
  point: string;
}

/**
 * Raw readings, stored compactly (SD card wear): one row per appended batch and data class, its readings
 * encoded in one blob (raw-codec.ts), with the batch's time span for retention. Point names live once
 * in `raw_points`. Retention deletes whole rows; only a row straddling the cutoff is rewritten.
 */
export class ReadingsTable {
  private readonly insertRow: Database.Statement<[string | null, number, number, number, Buffer]>;
  private readonly insertPoint: Database.Statement<[string, string]>;
  private readonly selectPoints: Database.Statement<[], PointRow>;
  private readonly sumCount: Database.Statement<[], number>;
  private readonly deleteClassBefore: Database.Statement<[string | null, number], { n: number }>;
  private readonly deleteAllBefore: Database.Statement<[number], { n: number }>;
  private readonly selectClassStraddling: Database.Statement<[string | null, number], BatchRow>;
  private readonly selectAllStraddling: Database.Statement<[number], BatchRow>;
  private readonly rewriteRow: Database.Statement<[number, number, Buffer, number]>;
  private readonly deleteRow: Database.Statement<[number], { n: number }>;
  private readonly selectOldestIds: Database.Statement<[], { id: number; n: number }>;
  private readonly selectOverlapping: Database.Statement<[number, number], BatchRow>;
  private readonly insertBatches: (readings: readonly Reading[], classOf: (r: Reading) => DataClass | null) => void;
  private pointIds = new Map<string, number>();
  private pointNames = new Map<number, { device: string; point: string }>();

  constructor(
    db: Database.Database,
    private readonly classes: PointClasses,
  ) {
    this.insertRow = db.prepare('INSERT INTO raw_batches (class, ts_min, ts_max, n, data) VALUES (?, ?, ?, ?, ?)');
    this.insertPoint = db.prepare('INSERT INTO raw_points (device, point) VALUES (?, ?)');
    this.selectPoints = db.prepare<[], PointRow>('SELECT id, device, point FROM raw_points');
    this.sumCount = db.prepare<[], number>('SELECT total(n) FROM raw_batches').pluck();
    this.deleteClassBefore = db.prepare('DELETE FROM raw_batches WHERE class IS ? AND ts_max < ? RETURNING n');
    this.deleteAllBefore = db.prepare('DELETE FROM raw_batches WHERE ts_max < ? RETURNING n');
    this.selectClassStraddling = db.prepare('SELECT id, ts_min, n, data FROM raw_batches WHERE class IS ? AND ts_min < ?');
    this.selectAllStraddling = db.prepare('SELECT id, ts_min, n, data FROM raw_batches WHERE ts_min < ?');
    this.rewriteRow = db.prepare('UPDATE raw_batches SET ts_min = ?, n = ?, data = ? WHERE id = ?');
    this.deleteRow = db.prepare('DELETE FROM raw_batches WHERE id = ? RETURNING n');
    // id order is insertion order: "oldest" here means written first, which needs no sort.
    this.selectOldestIds = db.prepare('SELECT id, n FROM raw_batches ORDER BY id');
    this.selectOverlapping = db.prepare('SELECT id, ts_min, n, data FROM raw_batches WHERE ts_max >= ? AND ts_min < ? ORDER BY ts_min, id');
    this.insertBatches = db.transaction((readings: readonly Reading[], classOf: (r: Reading) => DataClass | null) => {
      for (const [dataClass, group] of groupBy(readings, classOf)) this.insertGroup(dataClass, group);
    });
    this.loadPoints();
  }

  /** All or nothing: one transaction per batch (or part of the caller's transaction). */
  append(readings: readonly Reading[]): void {
    this.appendClassed(readings, (r) => this.classes.get(pointKey(r.device, r.point)) ?? null);
  }

  /** As append, with the class of each reading given (schema migration of old rows). */
  appendClassed(readings: readonly Reading[], classOf: (r: Reading) => DataClass | null): void {
    if (readings.length === 0) return;
    try {
      this.insertBatches(readings, classOf);
    } catch (e) {
      this.loadPoints(); // point ids inserted by the rolled-back transaction are gone
      throw e;
    }
  }

  count(): number {
    return this.sumCount.get() ?? 0;
  }

  /** Deletes readings sampled before `ts`, whatever their class; returns how many went. */
  purgeBefore(ts: number): number {
    return sum(this.deleteAllBefore.all(ts)) + this.trim(this.selectAllStraddling.all(ts), ts);
  }

  /** Deletes readings of `dataClass` (undefined: points without a class) sampled before `ts`. */
  purgeClassBefore(dataClass: DataClass | undefined, ts: number): number {
    const cls = dataClass ?? null;
    return sum(this.deleteClassBefore.all(cls, ts)) + this.trim(this.selectClassStraddling.all(cls, ts), ts);
  }

  /** Deletes the batches written first until at least `n` readings went (whole batches); returns how many. */
  dropOldest(n: number): number {
    let dropped = 0;
    const ids: number[] = [];
    for (const row of this.selectOldestIds.iterate()) {
      if (dropped >= n) break;
      ids.push(row.id);
      dropped += row.n;
    }
    for (const id of ids) this.deleteRow.all(id);
    return dropped;
  }

  /** Readings with from <= ts < to, oldest first, at most min(limit, MAX_READINGS_PER_QUERY). */
  between(from: number, to: number, limit: number): Reading[] {
    const bounded = Math.min(Math.floor(limit), MAX_READINGS_PER_QUERY);
    if (!(bounded > 0)) return [];
    let found: Reading[] = [];
    for (const row of this.selectOverlapping.iterate(from, to)) {
      // Rows come by their earliest reading: once `bounded` readings precede this row, none of it can enter.
      if (found.length >= bounded && found[bounded - 1]!.ts < row.ts_min) break;
      for (const e of decodeBatch(row.data)) if (e.ts >= from && e.ts < to) found.push(this.toReading(e));
      found.sort((a, b) => a.ts - b.ts); // stable: insertion order among equal times
      if (found.length > bounded) found = found.slice(0, bounded);
    }
    return found;
  }

  private insertGroup(dataClass: DataClass | null, group: readonly Reading[]): void {
    let min = Infinity;
    let max = -Infinity;
    for (const r of group) {
      if (r.ts < min) min = r.ts;
      if (r.ts > max) max = r.ts;
    }
    const data = encodeBatch(group, (r) => this.pointId(r.device, r.point));
    this.insertRow.run(dataClass, min, max, group.length, data);
  }

  /** Rows with readings on both sides of the cutoff keep only the later ones; returns how many went. */
  private trim(rows: readonly BatchRow[], cutoff: number): number {
    let removed = 0;
    for (const row of rows) {
      const entries = decodeBatch(row.data);
      const kept = entries.filter((e) => e.ts >= cutoff).map((e) => this.toReading(e));
      removed += entries.length - kept.length;
      if (kept.length === 0) {
        this.deleteRow.all(row.id);
        continue;
      }
      const data = encodeBatch(kept, (r) => this.pointId(r.device, r.point));
      this.rewriteRow.run(Math.min(...kept.map((r) => r.ts)), kept.length, data, row.id);
    }
    return removed;
  }

  private pointId(device: string, point: string): number {
    const key = pointKey(device, point);
    let id = this.pointIds.get(key);
    if (id === undefined) {
      id = Number(this.insertPoint.run(device, point).lastInsertRowid);
      this.pointIds.set(key, id);
      this.pointNames.set(id, { device, point });
    }
    return id;
  }

  private toReading(e: ReturnType<typeof decodeBatch>[number]): Reading {
    const names = this.pointNames.get(e.pointId);
    if (names === undefined) throw new Error(`raw batch names an unknown point id ${e.pointId}`);
    const base = { device: names.device, point: names.point, ts: e.ts, value: e.value, quality: e.quality };
    return e.reason === undefined ? base : { ...base, reason: e.reason };
  }

  private loadPoints(): void {
    this.pointIds = new Map();
    this.pointNames = new Map();
    for (const row of this.selectPoints.all()) {
      this.pointIds.set(pointKey(row.device, row.point), row.id);
      this.pointNames.set(row.id, { device: row.device, point: row.point });
    }
  }
}

function groupBy(readings: readonly Reading[], classOf: (r: Reading) => DataClass | null): Map<DataClass | null, Reading[]> {
  const groups = new Map<DataClass | null, Reading[]>();
  for (const r of readings) {
    const c = classOf(r);
    const group = groups.get(c);
    if (group) group.push(r);
    else groups.set(c, [r]);
  }
  return groups;
}

const sum = (rows: readonly { n: number }[]): number => rows.reduce((s, r) => s + r.n, 0);
