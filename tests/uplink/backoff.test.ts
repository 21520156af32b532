import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JitteredBackoff } from '../../src/uplink/backoff.js';
import { TokenBucket } from '../../src/uplink/token-bucket.js';
import { mulberry32 } from '../helpers/seeded.js';

describe('JitteredBackoff', () => {
  it('draws each delay uniformly under base * 2^attempt, capped', () => {
    const draws = [0.5, 0.999, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
    const backoff = new JitteredBackoff({ baseMs: 1000, capMs: 300_000, random: () => draws.shift()! });
    const delays = Array.from({ length: 11 }, () => backoff.next());
    expect(delays).toEqual([500, 1998, 1000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 150_000, 150_000]);
  });

  it('starts again from the base delay after reset (a successful connection)', () => {
    const backoff = new JitteredBackoff({ baseMs: 1000, capMs: 60_000, random: () => 0.999999 });
    for (let i = 0; i < 8; i++) backoff.next();
    expect(backoff.next()).toBe(59_999);
    backoff.reset();
    expect(backoff.next()).toBe(999);
  });

  it('never exceeds its ceiling nor goes negative, for any random source', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 60 }), (draws) => {
        const queue = [...draws];
        const backoff = new JitteredBackoff({ baseMs: 1000, capMs: 300_000, random: () => queue.shift()! });
        draws.forEach((_, attempt) => {
          const delay = backoff.next();
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(300_000, 1000 * 2 ** attempt));
        });
      }),
    );
  });

  it('spreads the first reconnects of 50 gateways over the interval instead of lockstep', () => {
    const firstDelays = Array.from({ length: 50 }, (_, i) => new JitteredBackoff({ random: mulberry32(i + 1) }).next());
    // Ten 100 ms buckets over the 1 s base: a lockstep fleet fills one; a spread one leaves none empty.
    const buckets = new Set(firstDelays.map((d) => Math.floor(d / 100)));
    expect(buckets.size).toBe(10);
    expect(Math.max(...buckets)).toBe(9);
    const third = Array.from({ length: 50 }, (_, i) => {
      const b = new JitteredBackoff({ random: mulberry32(100 + i) });
      b.next();
      b.next();
      return b.next();
    });
    expect(new Set(third.map((d) => Math.floor(d / 400))).size).toBeGreaterThanOrEqual(8);
  });

  it('refuses a cap below the base', () => {
    expect(() => new JitteredBackoff({ baseMs: 1000, capMs: 10 })).toThrow(expect.objectContaining({ code: 'E_UPLINK_CONFIG' }));
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then one token per 1/rate seconds', () => {
    let now = 0;
    const bucket = new TokenBucket(50, 4, () => now);
    expect([1, 2, 3, 4, 5].map(() => bucket.take())).toEqual([true, true, true, true, false]);
    expect(bucket.msUntilToken()).toBe(20);
    now += 19;
    expect(bucket.take()).toBe(false);
    now += 1;
    expect(bucket.take()).toBe(true);
    now += 10_000;
    expect([1, 2, 3, 4, 5].map(() => bucket.take()).filter(Boolean)).toHaveLength(4);
  });

  it('never allows more than burst + rate * elapsed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 1, max: 16 }), fc.array(fc.nat(200), { maxLength: 200 }), (rate, burst, steps) => {
        let now = 0;
        const bucket = new TokenBucket(rate, burst, () => now);
        let taken = 0;
        for (const step of steps) {
          now += step;
          while (bucket.take()) taken++;
        }
        expect(taken).toBeLessThanOrEqual(burst + (rate * now) / 1000 + 1e-9);
      }),
    );
  });
});
