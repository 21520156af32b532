import type Database from 'better-sqlite3-multiple-ciphers';
import { emptyFigures, LEDGER_KEEP_DAYS, mergeFigures, type LedgerDay, type LedgerDelta, type LedgerFigures } from '../core/ledger.js';

/** Largest span one `between` call returns: a year and some, what the ledger keeps. */
export const MAX_LEDGER_DAYS = LEDGER_KEEP_DAYS + 31;
const DAY_MS = 86_400_000;

/** A policy in force on the gateway, as recorded in the ledger: its hash, first day seen, and rules. */
export interface LedgerPolicy {
  readonly hash: string;
  readonly firstDay: string;
  /** The policy's rules as JSON (point globs, statistics, thresholds): no value, no identifier. */
  readonly policy: string;
}

/**
 * The ledger table: one row per day (figures as JSON, core/ledger.ts), merged in place. Written only
 * inside the store's commits (see Store.noteLedger): it adds no commit and no sync of its own. Since
 * schema 8 a day's points live in `ledger_points`, rewritten only when they change: the counters' row,
 * rewritten every window, stays one small page.
 */
export class LedgerTable {
  private readonly select: Database.Statement<[string], string>;
  private readonly upsert: Database.Statement<[string, string]>;
  private readonly selectPoints?: Database.Statement<[string], string>;
  private readonly upsertPoints?: Database.Statement<[string, string]>;
  private readonly deletePointsBefore?: Database.Statement<[string]>;
  private readonly selectBetween: Database.Statement<[string, string, number], { day: string; figures: string; points: string | null }>;
  private readonly deleteBefore: Database.Statement<[string]>;
  private readonly insertPolicy: Database.Statement<[string, string, string]>;
  private readonly selectPolicies: Database.Statement<[], { hash: string; first_day: string; policy: string }>;

  constructor(db: Database.Database) {
    this.select = db.prepare<[string], string>('SELECT figures FROM ledger WHERE day = ?').pluck();
    this.upsert = db.prepare<[string, string]>(
      'INSERT INTO ledger (day, figures) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET figures = excluded.figures',
    );
    // A store not migrated yet (read by `passerelle report` beside an older gateway) has no ledger_points.
    const split = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'ledger_points'").get() !== undefined;
    if (split) {
      this.selectPoints = db.prepare<[string], string>('SELECT points FROM ledger_points WHERE day = ?').pluck();
      this.upsertPoints = db.prepare<[string, string]>(
        'INSERT INTO ledger_points (day, points) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET points = excluded.points',
      );
      this.deletePointsBefore = db.prepare<[string]>('DELETE FROM ledger_points WHERE day < ?');
    }
    this.selectBetween = db.prepare<[string, string, number], { day: string; figures: string; points: string | null }>(
      split
        ? 'SELECT l.day, l.figures, p.points FROM ledger l LEFT JOIN ledger_points p ON p.day = l.day WHERE l.day >= ? AND l.day <= ? ORDER BY l.day LIMIT ?'
        : 'SELECT day, figures, NULL AS points FROM ledger WHERE day >= ? AND day <= ? ORDER BY day LIMIT ?',
    );
    this.deleteBefore = db.prepare<[string]>('DELETE FROM ledger WHERE day < ?');
    this.insertPolicy = db.prepare<[string, string, string]>('INSERT OR IGNORE INTO ledger_policies (hash, first_day, policy) VALUES (?, ?, ?)');
    this.selectPolicies = db.prepare<[], { hash: string; first_day: string; policy: string }>(
      'SELECT hash, first_day, policy FROM ledger_policies ORDER BY first_day, hash',
    );
  }

  add(day: string, delta: LedgerDelta): void {
    const storedPoints = this.selectPoints?.get(day);
    const before = parseDay(this.select.get(day), storedPoints);
    const { points, ...counters } = mergeFigures(before, delta);
    if (!this.upsertPoints) return void this.upsert.run(day, JSON.stringify({ ...counters, points }));
    this.upsert.run(day, JSON.stringify(counters));
    const pointsJson = JSON.stringify(points);
    if (pointsJson !== storedPoints) this.upsertPoints.run(day, pointsJson);
  }

  /** Records a policy the first day it is seen (later days refer to it by hash). */
  notePolicy(hash: string, day: string, policyJson: string): void {
    this.insertPolicy.run(hash, day, policyJson);
  }

  /** Days from..to inclusive (YYYY-MM-DD), oldest first, at most MAX_LEDGER_DAYS. */
  between(from: string, to: string): LedgerDay[] {
    return this.selectBetween.all(from, to, MAX_LEDGER_DAYS).map((row) => ({ day: row.day, ...parseDay(row.figures, row.points ?? undefined) }));
  }

  policies(): LedgerPolicy[] {
    return this.selectPolicies.all().map((r) => ({ hash: r.hash, firstDay: r.first_day, policy: r.policy }));
  }

  /** Deletes the days older than LEDGER_KEEP_DAYS before now (day names sort as dates). */
  purge(now: number, dayOf: (ts: number) => string): number {
    const before = dayOf(now - LEDGER_KEEP_DAYS * DAY_MS);
    this.deletePointsBefore?.run(before);
    return this.deleteBefore.run(before).changes;
  }
}

/** A stored day: its counters row (with its points inline when written before schema 8) and its points row. */
function parseDay(figures: string | undefined, points: string | undefined): LedgerFigures {
  const day = figures === undefined ? emptyFigures() : mergeFigures(emptyFigures(), JSON.parse(figures) as LedgerDelta);
  return points === undefined ? day : mergeFigures(day, { points: JSON.parse(points) as LedgerFigures['points'] });
}
