import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { OutboxMessage } from '../../src/core/outbox.js';
import { Store } from '../../src/store/store.js';
import { makeTempDir, removeTempDirs } from './helpers.js';
import { MemoryOutbox } from './memory-outbox.js';

afterAll(removeTempDirs);

type Op =
  | { readonly kind: 'enqueue'; readonly message: OutboxMessage }
  | { readonly kind: 'ack'; readonly id: string }
  | { readonly kind: 'reopen' };

// A few fixed ids make collisions (duplicate enqueue, ack of a live id) frequent; random ones cover
// empty strings, NUL, astral and non-ASCII code points whose UTF-8 order differs from UTF-16 order.
const idArb = fc.oneof(fc.constantFrom('a', 'b', 'B', 'é', '\u{1F600}', '\uFFFD'), fc.string({ unit: 'binary', maxLength: 4 }));
// Small instants force createdAt ties so the id tie-break is exercised.
const createdAtArb = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2 ** 47 }));

const messageArb: fc.Arbitrary<OutboxMessage> = fc.record({
  id: idArb,
  topic: fc.string({ maxLength: 12 }),
  payload: fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes)),
  createdAt: createdAtArb,
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: messageArb.map((message) => ({ kind: 'enqueue' as const, message })) },
  { weight: 3, arbitrary: idArb.map((id) => ({ kind: 'ack' as const, id })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

const comparable = (messages: readonly OutboxMessage[]) =>
  messages.map((m) => ({ id: m.id, topic: m.topic, createdAt: m.createdAt, payload: Buffer.from(m.payload).toString('hex') }));

describe('SQLite outbox against the in-memory model', () => {
  it('any sequence of enqueue/ack/restart leaves peek and count equal to the model', () => {
    const dir = makeTempDir();
    let run = 0;
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 1, max: 50 }), (ops, limit) => {
        run += 1;
        const opts = { path: join(dir, `run-${run}.db`), keyFile: join(dir, 'store.key') };
        let store = Store.open(opts);
        const model = new MemoryOutbox();
        try {
          for (const op of ops) {
            if (op.kind === 'enqueue') expect(store.enqueue(op.message)).toBe(model.enqueue(op.message));
            else if (op.kind === 'ack') {
              store.ack(op.id);
              model.ack(op.id);
            } else {
              store.close();
              store = Store.open(opts);
            }
            expect(store.count()).toBe(model.count());
          }
          expect(comparable(store.peek(limit))).toEqual(comparable(model.peek(limit)));
          expect(comparable(store.peek(1000))).toEqual(comparable(model.peek(1000)));
        } finally {
          store.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
