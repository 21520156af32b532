import type Database from 'better-sqlite3-multiple-ciphers';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Outbox, OutboxMessage } from '../core/outbox.js';

interface OutboxRow {
  id: string;
  topic: string;
  payload: Buffer;
  deflated: number;
  bytes: number;
  created_at: number;
  policy: string | null;
}

interface AuditRow {
  id: string;
  topic: string;
  created_at: number;
  delivered_at: number | null;
  refused_at: number | null;
  refused_reason: number | null;
  bytes: number;
}

/** One line of the local audit trail: what was queued, and when the broker acknowledged it. */
export interface OutboxEntry {
  readonly id: string;
  readonly topic: string;
  readonly createdAt: number;
  /** ms since epoch of the broker's PUBACK; undefined while pending. */
  readonly deliveredAt?: number;
  /** Set aside: the broker refused it for good (PUBACK reason code, ms since epoch). Never sent again. */
  readonly refused?: { readonly at: number; readonly reasonCode: number };
  readonly bytes: number;
}

/** Largest batch one `peek` returns whatever the caller asks: bounds the memory of a drain step. */
export const MAX_PEEK = 1000;
/** Largest batch one `entries` call returns (local tools, the crash harness). */
export const MAX_ENTRIES_PER_QUERY = 10_000;

/**
 * The outbox table behind the Outbox contract. An acknowledged message is not deleted but marked
 * delivered (the audit trail of what left the building) and purged after a grace period; peek and
 * count see pending messages only. A message the broker refused for good is set aside the same way
 * (refused_at), so it no longer blocks the ones behind it, and purged after the same grace period.
 */
export class OutboxTable implements Outbox {
  private readonly upsert: Database.Statement<[string, string, number, number, string | null]>;
  private readonly upsertPayload: Database.Statement<[string, number, Buffer]>;
  private readonly deleteNotUnder: Database.Statement<[string]>;
  private readonly selectOldest: Database.Statement<[number], OutboxRow>;
  private readonly markDelivered: Database.Statement<[number, string]>;
  private readonly countPending: Database.Statement<[], number>;
  private readonly selectPending: Database.Statement<[string], number>;
  private readonly sumPendingBytes: Database.Statement<[], number>;
  private readonly deleteOldestPending: Database.Statement<[number]>;
  private readonly deleteDeliveredBefore: Database.Statement<[number]>;
  private readonly deleteOldestDelivered: Database.Statement<[number]>;
  private readonly selectEntries: Database.Statement<[number], AuditRow>;
  private readonly markRefused: Database.Statement<[number, number, string]>;
  private readonly countRefused: Database.Statement<[], number>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    // A delivered id may be queued again (contract: accepted once acknowledged); a pending one may not.
    this.upsert = db.prepare<[string, string, number, number, string | null]>(
      `INSERT INTO outbox (id, topic, bytes, created_at, policy) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET topic = excluded.topic, bytes = excluded.bytes,
         created_at = excluded.created_at, policy = excluded.policy, delivered_at = NULL
       WHERE outbox.delivered_at IS NOT NULL`,
    );
    // Payloads live apart from their rows (schema 8): an acknowledgement rewrites the small row only.
    this.upsertPayload = db.prepare<[string, number, Buffer]>(
      `INSERT INTO outbox_payloads (id, deflated, payload) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET deflated = excluded.deflated, payload = excluded.payload`,
    );
    this.selectOldest = db.prepare<[number], OutboxRow>(
      `SELECT o.id, o.topic, p.payload, p.deflated, o.bytes, o.created_at, o.policy FROM outbox o JOIN outbox_payloads p ON p.id = o.id
       WHERE o.delivered_at IS NULL AND o.refused_at IS NULL ORDER BY o.created_at, o.id LIMIT ?`,
    );
    this.deleteNotUnder = db.prepare<[string]>('DELETE FROM outbox WHERE delivered_at IS NULL AND refused_at IS NULL AND (policy IS NULL OR policy <> ?)');
    this.markDelivered = db.prepare<[number, string]>('UPDATE outbox SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL AND refused_at IS NULL');
    this.countPending = db.prepare<[], number>('SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND refused_at IS NULL').pluck();
    this.selectPending = db.prepare<[string], number>(
      'SELECT bytes FROM outbox WHERE id = ? AND delivered_at IS NULL AND refused_at IS NULL',
    ).pluck();
    this.sumPendingBytes = db.prepare<[], number>('SELECT total(bytes) FROM outbox WHERE delivered_at IS NULL AND refused_at IS NULL').pluck();
    this.deleteOldestPending = db.prepare<[number]>(
      `DELETE FROM outbox WHERE id IN
         (SELECT id FROM outbox WHERE delivered_at IS NULL AND refused_at IS NULL ORDER BY created_at, id LIMIT ?)`,
    );
    this.deleteDeliveredBefore = db.prepare<[number]>('DELETE FROM outbox WHERE coalesce(delivered_at, refused_at) < ?');
    this.deleteOldestDelivered = db.prepare<[number]>(
      `DELETE FROM outbox WHERE id IN
         (SELECT id FROM outbox WHERE coalesce(delivered_at, refused_at) IS NOT NULL ORDER BY coalesce(delivered_at, refused_at) LIMIT ?)`,
    );
    this.markRefused = db.prepare<[number, number, string]>(
      'UPDATE outbox SET refused_at = ?, refused_reason = ? WHERE id = ? AND delivered_at IS NULL AND refused_at IS NULL',
    );
    this.countRefused = db.prepare<[], number>('SELECT count(*) FROM outbox WHERE refused_at IS NOT NULL').pluck();
    this.selectEntries = db.prepare<[number], AuditRow>(
      'SELECT id, topic, created_at, delivered_at, refused_at, refused_reason, bytes FROM outbox ORDER BY created_at, id LIMIT ?',
    );
  }

  /** A second enqueue of a pending id keeps the first message untouched and returns false. */
  enqueue(message: OutboxMessage): boolean {
    const queued = this.upsert.run(message.id, message.topic, message.payload.length, message.createdAt, message.policy ?? null).changes === 1;
    if (queued) {
      // SenML JSON deflates to a fifth or less: fewer pages written now, at the checkpoint and at the purge.
      const packed = deflateRawSync(message.payload);
      const deflated = packed.length < message.payload.length;
      this.upsertPayload.run(message.id, deflated ? 1 : 0, deflated ? packed : message.payload);
    }
    return queued;
  }

  /** Pending messages, oldest first; at most min(limit, MAX_PEEK); none for a limit below 1. */
  peek(limit: number): OutboxMessage[] {
    const bounded = Math.min(Math.floor(limit), MAX_PEEK);
    if (!(bounded > 0)) return [];
    return this.selectOldest.all(bounded).map((row) => ({
      id: row.id,
      topic: row.topic,
      payload: row.deflated === 1 ? inflateRawSync(row.payload, { maxOutputLength: Math.max(1, row.bytes) }) : row.payload,
      createdAt: row.created_at,
      ...(row.policy !== null && { policy: row.policy }),
    }));
  }

  /** Deletes the pending messages built under another policy, or under an unknown one; returns how many. */
  dropPendingNotUnder(policy: string): number {
    return this.deleteNotUnder.run(policy).changes;
  }

  /** Marks a pending message delivered now; unknown or already delivered ids are ignored. */
  ack(id: string, deliveredAt: number = this.now()): void {
    this.markDelivered.run(deliveredAt, id);
  }

  /** Sets a pending message aside, refused for good by the broker; returns whether it was pending. */
  refuse(id: string, reasonCode: number, at: number = this.now()): boolean {
    return this.markRefused.run(at, reasonCode, id).changes === 1;
  }

  /** Messages set aside as refused, still kept for the audit trail. */
  refusedCount(): number {
    return this.countRefused.get() ?? 0;
  }

  isPending(id: string): boolean {
    return this.selectPending.get(id) !== undefined;
  }

  /** Payload bytes of a pending message; undefined when it is not pending. */
  pendingSize(id: string): number | undefined {
    return this.selectPending.get(id);
  }

  count(): number {
    return this.countPending.get() ?? 0;
  }

  pendingBytes(): number {
    return this.sumPendingBytes.get() ?? 0;
  }

  /** Deletes up to n pending messages, oldest first (only at the outbox cap); returns how many. */
  dropOldestPending(n: number): number {
    return this.deleteOldestPending.run(n).changes;
  }

  /** Purges delivered (and refused) messages acknowledged (set aside) before ts: end of the audit grace period. */
  purgeDeliveredBefore(ts: number): number {
    return this.deleteDeliveredBefore.run(ts).changes;
  }

  /** Purges up to n delivered messages, earliest delivered first (size cap, after raw readings). */
  dropOldestDelivered(n: number): number {
    return this.deleteOldestDelivered.run(n).changes;
  }

  /** Pending and delivered messages, oldest first, at most min(limit, MAX_ENTRIES_PER_QUERY); no payloads. */
  entries(limit: number): OutboxEntry[] {
    const bounded = Math.min(Math.floor(limit), MAX_ENTRIES_PER_QUERY);
    if (!(bounded > 0)) return [];
    return this.selectEntries.all(bounded).map((row) => ({
      id: row.id,
      topic: row.topic,
      createdAt: row.created_at,
      bytes: row.bytes,
      ...(row.delivered_at !== null && { deliveredAt: row.delivered_at }),
      ...(row.refused_at !== null && { refused: { at: row.refused_at, reasonCode: row.refused_reason ?? 0 } }),
    }));
  }
}
