import type { Outbox, OutboxMessage } from '../../src/core/outbox.js';

/** In-memory Outbox for tests: the contract of src/core/outbox.ts, with the acks recorded in order. */
export class MemoryOutbox implements Outbox {
  private readonly messages = new Map<string, OutboxMessage>();
  readonly acked: string[] = [];

  enqueue(message: OutboxMessage): boolean {
    if (this.messages.has(message.id)) return false;
    this.messages.set(message.id, message);
    return true;
  }

  peek(limit: number): OutboxMessage[] {
    return [...this.messages.values()]
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit);
  }

  ack(id: string): void {
    if (this.messages.delete(id)) this.acked.push(id);
  }

  count(): number {
    return this.messages.size;
  }
}
