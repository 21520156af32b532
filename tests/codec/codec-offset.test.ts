/** The driver decodes each point in place in its read's words (no copy per point): same answer as on a copy. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePoint, decodeRegisters } from '../../src/drivers/modbus/codec.js';
import { profileSchema } from '../../src/profiles/index.js';

const TYPES = ['u16', 'i16', 'sm16', 'u32', 'i32', 'f32', 'bool'] as const;
const ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
const outcome = (f: () => unknown): unknown => {
  try {
    return f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('decoding at an offset', () => {
  it('gives what decoding a copy of the words from that offset gives', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 6 }),
        fc.nat({ max: 6 }),
        fc.constantFrom(...TYPES),
        fc.constantFrom(...ORDERS),
        fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
        (words, offset, type, order, noSensor) => {
          const copy = words.slice(offset);
          expect(outcome(() => decodeRegisters(words, type, order, offset))).toEqual(outcome(() => decodeRegisters(copy, type, order)));
          const point = profileSchema.parse({
            id: 'p', manufacturer: 'T', model: 'T', limits: {},
            points: [{ name: 'x', kind: 'holding', address: 0, type, order, scale: 0.1, class: 'comfort', noSensor }],
          }).points[0]!;
          expect(decodePoint(words, point, offset)).toEqual(decodePoint(copy, point));
        },
      ),
    );
  });
});
