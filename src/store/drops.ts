import type Database from 'better-sqlite3-multiple-ciphers';

export interface DropCounts {
  /** Raw readings deleted at the size cap before their retention ended. */
  readonly rawDropped: number;
  /** Undelivered summaries deleted at the outbox cap: data the authority will never receive. */
  readonly summariesDropped: number;
}

/**
 * Drop counters, kept in the database so a restart does not hide a drop: they count up until the
 * gateway takes them into the next summary.
 */
export class DropCounters {
  private readonly increment: Database.Statement<[number, string]>;
  private readonly read: Database.Statement<[], { what: string; n: number }>;
  private readonly reset: Database.Statement<[]>;
  private readonly takeAll: () => DropCounts;

  constructor(db: Database.Database) {
    this.increment = db.prepare<[number, string]>('UPDATE drops SET n = n + ? WHERE what = ?');
    this.read = db.prepare<[], { what: string; n: number }>('SELECT what, n FROM drops');
    this.reset = db.prepare<[]>('UPDATE drops SET n = 0');
    this.takeAll = db.transaction(() => {
      const counts = this.peek();
      this.reset.run();
      return counts;
    });
  }

  /** Call inside the transaction that deleted the rows, so count and deletion commit together. */
  add(what: 'raw' | 'summary', n: number): void {
    if (n > 0) this.increment.run(n, what);
  }

  peek(): DropCounts {
    const rows = new Map(this.read.all().map((r) => [r.what, r.n]));
    return { rawDropped: rows.get('raw') ?? 0, summariesDropped: rows.get('summary') ?? 0 };
  }

  /** Returns the counts and zeroes them in one transaction. */
  take(): DropCounts {
    return this.takeAll();
  }
}
