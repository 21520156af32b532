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
 * inside the store's commits (see Store.noteLedger): it adds no commit and no sync of its own.
 */
export class LedgerTable {
  private readonly select: Database.Statement<[string], string>;
  private readonly upsert: Database.Statement<[string, string]>;
  private readonly selectBetween: Database.Statement<[string, string, number], { day: string; figures: string }>;
  private readonly deleteBefore: Database.Statement<[string]>;
  private readonly insertPolicy: Database.Statement<[string, string, string]>;
  private readonly selectPolicies: Database.Statement<[], { hash: string; first_day: string; policy: string }>;

  constructor(db: Database.Database) {
    this.select = db.prepare<[string], string>('SELECT figures FROM ledger WHERE day = ?').pluck();
    this.upsert = db.prepare<[string, string]>(
      'INSERT INTO ledger (day, figures) VALUES (?, ?) ON CONFLICT (day) DO UPDATE SET figures = excluded.figures',
    );
    this.selectBetween = db.prepare<[string, string, number], { day: string; figures: string }>(
      'SELECT day, figures FROM ledger WHERE day >= ? AND day <= ? ORDER BY day LIMIT ?',
    );
    this.deleteBefore = db.prepare<[string]>('DELETE FROM ledger WHERE day < ?');
    this.insertPolicy = db.prepare<[string, string, string]>('INSERT OR IGNORE INTO ledger_policies (hash, first_day, policy) VALUES (?, ?, ?)');
    this.selectPolicies = db.prepare<[], { hash: string; first_day: string; policy: string }>(
      'SELECT hash, first_day, policy FROM ledger_policies ORDER BY first_day, hash',
    );
  }

  add(day: string, delta: LedgerDelta): void {
    const stored = this.select.get(day);
    const before: LedgerFigures = stored === undefined ? emptyFigures() : mergeFigures(emptyFigures(), JSON.parse(stored) as LedgerDelta);
    this.upsert.run(day, JSON.stringify(mergeFigures(before, delta)));
  }

  /** Records a policy the first day it is seen (later days refer to it by hash). */
  notePolicy(hash: string, day: string, policyJson: string): void {
    this.insertPolicy.run(hash, day, policyJson);
  }

  /** Days from..to inclusive (YYYY-MM-DD), oldest first, at most MAX_LEDGER_DAYS. */
  between(from: string, to: string): LedgerDay[] {
    return this.selectBetween.all(from, to, MAX_LEDGER_DAYS).map((row) => ({
      day: row.day,
      ...mergeFigures(emptyFigures(), JSON.parse(row.figures) as LedgerDelta),
    }));
  }

  policies(): LedgerPolicy[] {
    return this.selectPolicies.all().map((r) => ({ hash: r.hash, firstDay: r.first_day, policy: r.policy }));
  }

  /** Deletes the days older than LEDGER_KEEP_DAYS before now (day names sort as dates). */
  purge(now: number, dayOf: (ts: number) => string): number {
    return this.deleteBefore.run(dayOf(now - LEDGER_KEEP_DAYS * DAY_MS)).changes;
  }
}
