import type { Outbox, OutboxMessage } from '../../src/core/outbox.js';

/**
 * The simplest Outbox that meets the contract: the model the SQLite outbox is checked against.
 * Ids compare as UTF-8 bytes, as SQLite's BINARY collation does (JS `<` compares UTF-16 units).
 * Unbounded: a test double only.
 */
export class MemoryOutbox implements Outbox {
  private readonly messages = new Map<string, OutboxMessage>();

  enqueue(message: OutboxMessage): boolean {
    if (this.messages.has(message.id)) return false;
    this.messages.set(message.id, { ...message, payload: Buffer.from(message.payload) });
    return true;
  }

  peek(limit: number): OutboxMessage[] {
    const n = Math.floor(limit);
    return n > 0 ? [...this.messages.values()].sort(drainOrder).slice(0, n) : [];
  }

  ack(id: string): void {
    this.messages.delete(id);
  }

  count(): number {
    return this.messages.size;
  }
}

export function drainOrder(a: OutboxMessage, b: OutboxMessage): number {
  return a.createdAt - b.createdAt || Buffer.compare(Buffer.from(a.id, 'utf8'), Buffer.from(b.id, 'utf8'));
}
