import type Database from 'better-sqlite3-multiple-ciphers';
import type { Outbox, OutboxMessage } from '../core/outbox.js';

interface OutboxRow {
  id: string;
  topic: string;
  payload: Buffer;
  created_at: number;
}

/** Largest batch one `peek` returns whatever the caller asks: bounds the memory of a drain step. */
export const MAX_PEEK = 1000;

/** The outbox table behind the Outbox contract. Ordering (created_at, id) is served by an index. */
export class OutboxTable implements Outbox {
  private readonly insert: Database.Statement<[string, string, Buffer, number]>;
  private readonly selectOldest: Database.Statement<[number], OutboxRow>;
  private readonly deleteById: Database.Statement<[string]>;
  private readonly countAll: Database.Statement<[], number>;

  constructor(db: Database.Database) {
    this.insert = db.prepare<[string, string, Buffer, number]>(
      'INSERT INTO outbox (id, topic, payload, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
    );
    this.selectOldest = db.prepare<[number], OutboxRow>(
      'SELECT id, topic, payload, created_at FROM outbox ORDER BY created_at, id LIMIT ?',
    );
    this.deleteById = db.prepare<[string]>('DELETE FROM outbox WHERE id = ?');
    this.countAll = db.prepare<[], number>('SELECT count(*) FROM outbox').pluck();
  }

  /** A second enqueue of an id keeps the first message untouched and returns false. */
  enqueue(message: OutboxMessage): boolean {
    return this.insert.run(message.id, message.topic, message.payload, message.createdAt).changes === 1;
  }

  /** Oldest first; at most min(limit, MAX_PEEK); none for a limit below 1. */
  peek(limit: number): OutboxMessage[] {
    const bounded = Math.min(Math.floor(limit), MAX_PEEK);
    if (!(bounded > 0)) return [];
    return this.selectOldest.all(bounded).map((row) => ({
      id: row.id,
      topic: row.topic,
      payload: row.payload,
      createdAt: row.created_at,
    }));
  }

  ack(id: string): void {
    this.deleteById.run(id);
  }

  count(): number {
    return this.countAll.get() ?? 0;
  }
}
