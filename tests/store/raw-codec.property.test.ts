import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BadReason, Quality, Reading } from '../../src/core/types.js';
import { decodeBatch, encodeBatch } from '../../src/store/raw-codec.js';

const REASONS: BadReason[] = ['timeout', 'exception', 'crc', 'frame', 'checksum', 'decode', 'range', 'rate', 'stuck', 'stale', 'no-sensor', 'clock'];
const POINTS = ['a', 'b', 'c', 'd'];

const reading: fc.Arbitrary<Reading> = fc
  .record({
    point: fc.integer({ min: 0, max: POINTS.length - 1 }),
    ts: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    value: fc.oneof(fc.double(), fc.float(), fc.integer(), fc.maxSafeInteger(), fc.string(), fc.constant(null)),
    quality: fc.constantFrom<Quality>('good', 'stale', 'bad'),
    reason: fc.option(fc.constantFrom(...REASONS), { nil: undefined }),
  })
  .map(({ point, reason, ...rest }) => ({ device: 'dev', point: POINTS[point]!, ...rest, ...(reason !== undefined && { reason }) }));

const pointId = (r: Reading) => POINTS.indexOf(r.point) + 1;
const back = (readings: readonly Reading[]) =>
  decodeBatch(encodeBatch(readings, pointId)).map(({ pointId: id, ...e }) => ({ device: 'dev', point: POINTS[id - 1]!, ...e }));

describe('raw batch codec', () => {
  it('reads back every reading identically, in order (NaN, -0, text, reasons, any timestamp)', () => {
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 50 }), (readings) => {
        expect(back(readings)).toEqual(readings);
      }),
      { numRuns: 500 },
    );
  });

  it('takes a few bytes per typical meter reading', () => {
    const t0 = 1_800_000_000_000;
    const readings: Reading[] = Array.from({ length: 1000 }, (_, i) => ({
      device: 'dev',
      point: POINTS[i % 4]!,
      ts: t0 + Math.floor(i / 4) * 10_000 + (i % 4) * 12,
      value: Math.fround(230 + Math.sin(i) * 3),
      quality: 'good',
    }));
    expect(encodeBatch(readings, pointId).length).toBeLessThanOrEqual(1000 * 8 + 8);
  });

  it('reads back polls that repeat (the deflated form) identically, and batches written in format 1', () => {
    const poll = fc.array(reading, { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(poll, fc.integer({ min: 2, max: 40 }), fc.integer({ min: 1, max: 60_000 }), (cycle, n, period) => {
        const readings = Array.from({ length: n }, (_, k) => cycle.map((r) => ({ ...r, ts: (r.ts % 2 ** 40) + k * period }))).flat();
        expect(back(readings)).toEqual(readings);
      }),
      { numRuns: 300 },
    );
    // format 1 (stores written before the deflated form): one reading of point 1, good f32 1.5 at ts 7
    const v1 = Buffer.from([1, 1, 1, 7, 0, 0, 0xc0, 0x3f]);
    expect(decodeBatch(v1)).toEqual([{ pointId: 1, ts: 7, value: 1.5, quality: 'good' }]);
  });

  it('deflates a typical meter batch to under 5 bytes a reading', () => {
    const t0 = 1_800_000_000_000;
    const readings: Reading[] = Array.from({ length: 1500 }, (_, i) => ({
      device: 'dev',
      point: POINTS[i % 4]!,
      ts: t0 + Math.floor(i / 4) * 10_000 + (i % 4) * 12,
      value: Math.fround(230 + Math.sin(i) * 3),
      quality: 'good',
    }));
    const blob = encodeBatch(readings, pointId);
    expect(blob[0]).toBe(2);
    expect(blob.length).toBeLessThan(1500 * 5);
  });

  it('refuses a reading it could not read back', () => {
    const bad = { device: 'dev', point: 'a', ts: 1, value: 1, quality: 'excellent' } as unknown as Reading;
    expect(() => encodeBatch([bad], pointId)).toThrow(/unknown quality/);
    expect(() => encodeBatch([{ device: 'dev', point: 'a', ts: 1.5, value: 1, quality: 'good' }], pointId)).toThrow(/timestamp/);
    expect(() => decodeBatch(Buffer.from([1, 1, 0]))).toThrow(/truncated/);
  });
});
