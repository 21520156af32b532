/**
 * The outbox contract between the store (which keeps messages on disk) and the uplink (which sends them).
 * The uplink never imports the store: it is handed something that implements this.
 */
export interface OutboxMessage {
  /** Deterministic message id; a resend carries the same id. Unique in the outbox. */
  readonly id: string;
  readonly topic: string;
  readonly payload: Buffer;
  /** ms since epoch, when the message was enqueued. Drain order is createdAt, then id. */
  readonly createdAt: number;
  /**
   * Hash of the site policy the message was built under. On start, pending messages built under
   * another policy (or none recorded) are dropped and counted, never sent under the old policy.
   */
  readonly policy?: string;
}

export interface Outbox {
  /** Adds a message; a second enqueue of the same id is a no-op (returns false). */
  enqueue(message: OutboxMessage): boolean;
  /** Oldest first, at most limit messages. */
  peek(limit: number): OutboxMessage[];
  /** Deletes a message once the broker has acknowledged it (PUBACK). Unknown ids are ignored. */
  ack(id: string): void;
  /**
   * Sets a message aside that the broker refused for good (MQTT 5 PUBACK reason >= 0x80): never sent
   * again, no longer blocking the messages behind it, kept for the audit trail and counted. Optional: an
   * outbox without it keeps the message, and the uplink pauses and retries.
   */
  refuse?(id: string, reasonCode: number): void;
  count(): number;
}
