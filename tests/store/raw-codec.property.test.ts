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

  it('refuses a reading it could not read back', () => {
    const bad = { device: 'dev', point: 'a', ts: 1, value: 1, quality: 'excellent' } as unknown as Reading;
    expect(() => encodeBatch([bad], pointId)).toThrow(/unknown quality/);
    expect(() => encodeBatch([{ device: 'dev', point: 'a', ts: 1.5, value: 1, quality: 'good' }], pointId)).toThrow(/timestamp/);
    expect(() => decodeBatch(Buffer.from([1, 1, 0]))).toThrow(/truncated/);
  });
});
