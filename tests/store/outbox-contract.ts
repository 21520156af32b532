import { describe, expect, it } from 'vitest';
import type { Outbox, OutboxMessage } from '../../src/core/outbox.js';

/** How the contract suite gets an empty outbox, reopens it (a restart), and cleans up. */
export interface OutboxHarness {
  readonly outbox: Outbox;
  /** Closes and opens the same storage again; returns the new handle. */
  reopen(): Outbox;
  dispose(): void;
}

const message = (id: string, createdAt: number, payload = `payload of ${id}`): OutboxMessage => ({
  id,
  topic: `site/gw/${id}`,
  payload: Buffer.from(payload),
  createdAt,
});

const ids = (messages: readonly OutboxMessage[]): string[] => messages.map((m) => m.id);

/** One suite every Outbox implementation must pass. */
export function describeOutboxContract(name: string, makeHarness: () => OutboxHarness): void {
  describe(`Outbox contract: ${name}`, () => {
    const withHarness = (body: (h: OutboxHarness) => void) => () => {
      const h = makeHarness();
      try {
        body(h);
      } finally {
        h.dispose();
      }
    };

    it('starts empty', withHarness(({ outbox }) => {
      expect(outbox.count()).toBe(0);
      expect(outbox.peek(10)).toEqual([]);
    }));

    it('returns the oldest first, ties broken by id, whatever the enqueue order', withHarness(({ outbox }) => {
      outbox.enqueue(message('c', 2000));
      outbox.enqueue(message('b', 1000));
      outbox.enqueue(message('a', 2000));
      outbox.enqueue(message('z', 500));
      expect(ids(outbox.peek(10))).toEqual(['z', 'b', 'a', 'c']);
      expect(ids(outbox.peek(2))).toEqual(['z', 'b']);
      expect(outbox.peek(0)).toEqual([]);
      expect(outbox.peek(-1)).toEqual([]);
    }));

    it('keeps topic, payload bytes and createdAt intact', withHarness(({ outbox }) => {
      const binary: OutboxMessage = { id: 'm1', topic: 'p/site/gw/summary', payload: Buffer.from([0, 255, 1, 0x80]), createdAt: 1_700_000_000_123 };
      outbox.enqueue(binary);
      const [got] = outbox.peek(1);
      expect(got?.id).toBe('m1');
      expect(got?.topic).toBe(binary.topic);
      expect(got?.createdAt).toBe(binary.createdAt);
      expect(Buffer.compare(got!.payload, binary.payload)).toBe(0);
    }));

    it('ignores a second enqueue of the same id and keeps the first message', withHarness(({ outbox }) => {
      expect(outbox.enqueue(message('w1', 1000, 'first'))).toBe(true);
      expect(outbox.enqueue(message('w1', 5, 'second'))).toBe(false);
      expect(outbox.count()).toBe(1);
      const [kept] = outbox.peek(10);
      expect(kept?.payload.toString()).toBe('first');
      expect(kept?.createdAt).toBe(1000);
    }));

    it('deletes on ack and ignores unknown ids', withHarness(({ outbox }) => {
      outbox.enqueue(message('a', 1));
      outbox.enqueue(message('b', 2));
      outbox.ack('a');
      outbox.ack('never-sent');
      expect(ids(outbox.peek(10))).toEqual(['b']);
      expect(outbox.count()).toBe(1);
    }));

    it('accepts an id again once it was acknowledged', withHarness(({ outbox }) => {
      outbox.enqueue(message('a', 1));
      outbox.ack('a');
      expect(outbox.enqueue(message('a', 3))).toBe(true);
      expect(outbox.peek(1)[0]?.createdAt).toBe(3);
    }));

    it('keeps unacknowledged messages across a restart, in order', withHarness((h) => {
      h.outbox.enqueue(message('late', 20));
      h.outbox.enqueue(message('early', 10));
      h.outbox.enqueue(message('gone', 5));
      h.outbox.ack('gone');
      const reopened = h.reopen();
      expect(ids(reopened.peek(10))).toEqual(['early', 'late']);
      expect(reopened.count()).toBe(2);
      expect(reopened.enqueue(message('early', 99))).toBe(false);
    }));
  });
}
