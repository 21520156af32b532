/**
 * close() reuses the bounds of the window it last saw `now` in (each close tick would otherwise ask
 * Intl for them): whatever the ticks, across daylight-saving changes, what is final and what is
 * too far ahead stay what the window functions say.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Aggregator, MAX_OPEN_WINDOWS } from '../../src/pipeline/aggregator.js';
import { windowEnd, windowStart } from '../../src/pipeline/windows.js';
import type { PointInfo } from '../../src/core/types.js';

const MIN = 60_000;
const ZONE = 'Europe/Paris';
const SPRING = Date.parse('2026-03-29T01:00:00Z'); // 02:00 local jumps to 03:00
const AUTUMN = Date.parse('2026-10-25T01:00:00Z'); // 03:00 local goes back to 02:00
const POINT: PointInfo = { device: 'd', point: 'p', dataClass: 'comfort', measure: 'gauge' };

describe('close() ticks', () => {
  it('finalises and looks ahead exactly as the window functions say, tick after tick', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(SPRING, AUTUMN),
        fc.constantFrom(MIN, 15 * MIN, 60 * MIN),
        fc.array(fc.integer({ min: 0, max: 20 * MIN }), { minLength: 1, maxLength: 40 }),
        (around, windowMs, steps) => {
          const agg = new Aggregator({ site: 's', gateway: 'g', windowMs, timeZone: ZONE, points: [POINT] });
          let now = around - 2 * 60 * MIN;
          let closedBefore = -Infinity;
          for (const step of steps) {
            now += step;
            agg.close(now);
            closedBefore = Math.max(closedBefore, windowStart(now, windowMs, ZONE));
            expect(agg.acceptsFrom()).toBe(closedBefore);
            let horizon = closedBefore;
            for (let i = 0; i < MAX_OPEN_WINDOWS; i++) horizon = windowEnd(horizon, windowMs, ZONE);
            const before = agg.stats().ahead;
            agg.add([{ device: 'd', point: 'p', ts: horizon - 1, value: 1, quality: 'good' }]);
            agg.add([{ device: 'd', point: 'p', ts: horizon, value: 1, quality: 'good' }]);
            expect(agg.stats().ahead).toBe(before + 1); // the last instant inside is taken, the horizon is not
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
