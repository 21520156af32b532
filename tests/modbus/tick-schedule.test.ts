/**
 * nextTick and addDueAt run on every poll tick, so they allocate nothing; they must still say exactly what
 * the plain definitions say (the nearest multiple of any interval; the intervals dividing the tick).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addDueAt, nextTick } from '../../src/drivers/modbus/device-plan.js';

const intervals = fc.uniqueArray(fc.integer({ min: 1, max: 3_600_000 }), { minLength: 1, maxLength: 6 });
const now = fc.integer({ min: 0, max: 4_102_444_800_000 });

describe('poll ticks', () => {
  it('nextTick is the nearest multiple of any interval strictly after now', () => {
    fc.assert(
      fc.property(now, intervals, (t, is) => {
        expect(nextTick(t, is)).toBe(Math.min(...is.map((i) => (Math.floor(t / i) + 1) * i)));
      }),
    );
  });

  it('addDueAt adds exactly the intervals the tick is a multiple of, and keeps what was there', () => {
    fc.assert(
      fc.property(now, intervals, (t, is) => {
        const tick = nextTick(t, is);
        const into = new Set<number>([-1]);
        addDueAt(into, tick, is);
        expect([...into].sort((a, b) => a - b)).toEqual([-1, ...is.filter((i) => tick % i === 0)].sort((a, b) => a - b));
        expect(into.size).toBeGreaterThan(1); // the tick nextTick gave is due for at least one interval
      }),
    );
  });
});
