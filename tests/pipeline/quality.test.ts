import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkRange } from '../../src/pipeline/quality.js';
import type { PointInfo, Reading } from '../../src/core/types.js';

const info = (range?: readonly [number, number]): PointInfo => ({
  device: 'room',
  point: 'temperature',
  dataClass: 'comfort',
  measure: 'gauge',
  ...(range && { range }),
});
const reading = (value: number | string | null, quality: Reading['quality'] = 'good'): Reading => ({
  device: 'room',
  point: 'temperature',
  ts: 1_700_000_000_000,
  value,
  quality,
});

const rangeArb = fc
  .tuple(fc.double({ noNaN: true, min: -1e9, max: 1e9 }), fc.double({ noNaN: true, min: -1e9, max: 1e9 }))
  .map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);

describe('checkRange', () => {
  it('marks a good number bad (range, value null) exactly when it lies outside [min, max]', () => {
    fc.assert(
      fc.property(rangeArb, fc.double({ noNaN: true }), (range, value) => {
        const inside = value >= range[0] && value <= range[1];
        const checked = checkRange(reading(value), info(range));
        if (inside) expect(checked).toEqual(reading(value));
        else expect(checked).toEqual({ ...reading(value), value: null, quality: 'bad', reason: 'range' });
      }),
    );
  });

  it('keeps the bounds themselves as valid', () => {
    expect(checkRange(reading(-20), info([-20, 60])).quality).toBe('good');
    expect(checkRange(reading(60), info([-20, 60])).quality).toBe('good');
    expect(checkRange(reading(60.0001), info([-20, 60])).reason).toBe('range');
  });

  it('treats NaN as outside every range', () => {
    expect(checkRange(reading(Number.NaN), info([-20, 60]))).toMatchObject({ quality: 'bad', reason: 'range' });
  });

  it('leaves text values, readings already not good, and points without a range unchanged', () => {
    const unchanged = [
      [reading('HC'), info([0, 1])],
      [reading(null, 'bad'), info([0, 1])],
      [{ ...reading(500), quality: 'stale', reason: 'stale' } as Reading, info([0, 1])],
      [reading(1e12), info()],
    ] as const;
    for (const [r, i] of unchanged) expect(checkRange(r, i)).toBe(r);
  });
});
