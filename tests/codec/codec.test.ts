import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPasserelleError } from '../../src/core/errors.js';
import { applyScale, decodePoint, decodeRegisters, encodeValue, registersFor, valueRange } from '../../src/drivers/modbus/codec.js';
import { pointSchema, VALUE_TYPES, WORD_ORDERS, type ProfilePoint, type ValueType, type WordOrder } from '../../src/profiles/schema.js';

const point = (fields: Partial<Record<string, unknown>>): ProfilePoint =>
  pointSchema.parse({ name: 'p', kind: 'holding', address: 0, class: 'diagnostic', ...fields });

/** One value per type and the words each order puts it in (hand-written, not derived from the codec). */
const VECTORS: ReadonlyArray<{ type: ValueType; value: number; words: Record<WordOrder, number[]> }> = [
  { type: 'f32', value: 123456.0, words: { ABCD: [0x47f1, 0x2000], CDAB: [0x2000, 0x47f1], BADC: [0xf147, 0x0020], DCBA: [0x0020, 0xf147] } },
  { type: 'u32', value: 0x01020304, words: { ABCD: [0x0102, 0x0304], CDAB: [0x0304, 0x0102], BADC: [0x0201, 0x0403], DCBA: [0x0403, 0x0201] } },
  { type: 'i32', value: -2, words: { ABCD: [0xffff, 0xfffe], CDAB: [0xfffe, 0xffff], BADC: [0xffff, 0xfeff], DCBA: [0xfeff, 0xffff] } },
  { type: 'u16', value: 0x1234, words: { ABCD: [0x1234], CDAB: [0x1234], BADC: [0x3412], DCBA: [0x3412] } },
  { type: 'i16', value: -2, words: { ABCD: [0xfffe], CDAB: [0xfffe], BADC: [0xfeff], DCBA: [0xfeff] } },
  { type: 'sm16', value: -101, words: { ABCD: [0x8065], CDAB: [0x8065], BADC: [0x6580], DCBA: [0x6580] } },
  { type: 'bool', value: 1, words: { ABCD: [0x0001], CDAB: [0x0001], BADC: [0x0100], DCBA: [0x0100] } },
];

const CASES = VECTORS.flatMap((v) => WORD_ORDERS.map((order) => ({ ...v, order, expected: v.words[order] })));

/** Raw values each type can carry, for round trips. */
const rawValue = (type: ValueType): fc.Arbitrary<number> => {
  if (type === 'f32') return fc.float({ noNaN: true });
  const [min, max] = valueRange(type);
  return fc.integer({ min, max });
};

const word = fc.integer({ min: 0, max: 0xffff });
const typeArb = fc.constantFrom(...VALUE_TYPES);
const orderArb = fc.constantFrom(...WORD_ORDERS);

describe('registersFor', () => {
  it('is 2 for 32-bit types and 1 otherwise', () => {
    expect(VALUE_TYPES.map((t) => [t, registersFor(t)])).toEqual([
      ['u16', 1], ['i16', 1], ['sm16', 1], ['u32', 2], ['i32', 2], ['f32', 2], ['bool', 1],
    ]);
  });
});

describe('decodeRegisters / encodeValue vectors', () => {
  it.each(CASES)('$type $value in $order', ({ type, value, order, expected }) => {
    expect(decodeRegisters(expected, type, order)).toBe(value);
    expect(encodeValue(value, type, order)).toEqual(expected);
  });

  it('reads sign-magnitude 0x8065 as -101 and 0x0065 as +101, and 0x8000 as 0 (not -0)', () => {
    expect(decodeRegisters([0x8065], 'sm16', 'ABCD')).toBe(-101);
    expect(decodeRegisters([0x0065], 'sm16', 'ABCD')).toBe(101);
    expect(Object.is(decodeRegisters([0x8000], 'sm16', 'ABCD'), 0)).toBe(true);
  });

  it('reads any non-zero word as bool 1', () => {
    expect(decodeRegisters([0xff00], 'bool', 'ABCD')).toBe(1);
    expect(decodeRegisters([0], 'bool', 'ABCD')).toBe(0);
  });

  it('refuses too few words and non-16-bit words with stable codes', () => {
    expect(() => decodeRegisters([0x47f1], 'f32', 'ABCD')).toThrow(expect.objectContaining({ code: 'E_DECODE_LENGTH' }));
    expect(() => decodeRegisters([0x10000], 'u16', 'ABCD')).toThrow(expect.objectContaining({ code: 'E_DECODE_WORD' }));
    expect(() => decodeRegisters([1.5], 'u16', 'ABCD')).toThrow(expect.objectContaining({ code: 'E_DECODE_WORD' }));
  });
});

describe('codec properties', () => {
  it('decode(encode(v)) = v for every type and order', () => {
    fc.assert(
      fc.property(typeArb.chain((t) => fc.tuple(fc.constant(t), rawValue(t), orderArb)), ([type, value, order]) => {
        const words = encodeValue(value, type, order);
        expect(words).toHaveLength(registersFor(type));
        expect(decodeRegisters(words, type, order)).toBe(value);
      }),
      { numRuns: 2000 },
    );
  });

  it('encode(decode(words)) = words for the integer types whose encoding is unique', () => {
    const exact = fc.constantFrom<ValueType>('u16', 'i16', 'u32', 'i32');
    fc.assert(
      fc.property(exact, orderArb, fc.tuple(word, word), (type, order, pair) => {
        const words = pair.slice(0, registersFor(type));
        expect(encodeValue(decodeRegisters(words, type, order), type, order)).toEqual(words);
      }),
    );
  });

  it('NaN survives an f32 round trip in every order', () => {
    for (const order of WORD_ORDERS) expect(decodeRegisters(encodeValue(NaN, 'f32', order), 'f32', order)).toBeNaN();
  });

  it('never throws on any 16-bit words', () => {
    fc.assert(
      fc.property(typeArb, orderArb, fc.tuple(word, word), (type, order, words) => {
        expect(typeof decodeRegisters(words, type, order)).toBe('number');
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses integers outside the type range, and non-integers', () => {
    const integerType = fc.constantFrom<ValueType>('u16', 'i16', 'sm16', 'u32', 'i32');
    fc.assert(
      fc.property(integerType, orderArb, fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.constant(0.5)), (type, order, beyond) => {
        const [min, max] = valueRange(type);
        const bad = Number.isInteger(beyond) ? (beyond % 2 ? max + beyond : min - beyond) : min + beyond;
        let error: unknown;
        try {
          encodeValue(bad, type, order);
        } catch (e) {
          error = e;
        }
        expect(isPasserelleError(error) && error.code).toBe('E_ENCODE_RANGE');
      }),
    );
  });
});

describe('applyScale', () => {
  it('computes raw * scale + offset and reads tenths cleanly', () => {
    expect(applyScale(658, point({ scale: 0.1 }))).toBe(65.8);
    expect(applyScale(-101, point({ type: 'sm16', scale: 0.1 }))).toBe(-10.1);
    expect(applyScale(2192, point({ type: 'i16', scale: 0.01 }))).toBe(21.92);
    expect(applyScale(100, point({ scale: 0.5, offset: -40 }))).toBe(10);
  });

  it('rounding never moves a value by more than float noise', () => {
    const scale = fc.constantFrom(1, 0.1, 0.01, 0.001, 0.5, 2, 10);
    const offset = fc.constantFrom(0, -40, 273.15, 0.5);
    fc.assert(
      fc.property(fc.integer({ min: -0x80000000, max: 0xffffffff }), scale, offset, (raw, s, o) => {
        const exact = raw * s + o;
        expect(Math.abs(applyScale(raw, point({ type: 'i32', scale: s, offset: o })) - exact)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(exact)));
      }),
    );
  });
});

describe('decodePoint', () => {
  it('applies scale and offset', () => {
    expect(decodePoint([0x4366, 0x3334], point({ kind: 'input', type: 'f32' })).value).toBeCloseTo(230.2, 4);
    expect(decodePoint([0x0292], point({ scale: 0.1 }))).toEqual({ value: 65.8 });
  });

  it('marks NaN and infinite f32 as decode errors', () => {
    const f32 = point({ type: 'f32' });
    expect(decodePoint([0x7fc0, 0x0000], f32)).toEqual({ value: null, reason: 'decode' });
    expect(decodePoint([0x7f80, 0x0000], f32)).toEqual({ value: null, reason: 'decode' });
    expect(decodePoint([0xff80, 0x0000], f32)).toEqual({ value: null, reason: 'decode' });
  });

  it('marks the no-sensor marker, matched on the raw bits (Diematic 0xFFFF) or the typed value', () => {
    const diematic = point({ type: 'sm16', scale: 0.1, noSensor: 0xffff });
    expect(decodePoint([0xffff], diematic)).toEqual({ value: null, reason: 'no-sensor' });
    expect(decodePoint([0x8065], diematic)).toEqual({ value: -10.1 });
    expect(decodePoint([0xffff], point({ type: 'i16', noSensor: -1 }))).toEqual({ value: null, reason: 'no-sensor' });
    expect(decodePoint([0x7fff, 0xffff], point({ type: 'u32', order: 'CDAB', noSensor: 0xffff7fff }))).toEqual({ value: null, reason: 'no-sensor' });
  });

  it('marks too few words and non-16-bit words as decode errors', () => {
    expect(decodePoint([0x4366], point({ type: 'f32' }))).toEqual({ value: null, reason: 'decode' });
    expect(decodePoint([], point({}))).toEqual({ value: null, reason: 'decode' });
    expect(decodePoint([-1], point({}))).toEqual({ value: null, reason: 'decode' });
  });

  it('never throws, whatever the input', () => {
    const anyPoint = fc.record({
      type: typeArb,
      order: orderArb,
      scale: fc.double({ noNaN: true, noDefaultInfinity: true }),
      noSensor: fc.option(fc.integer(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(fc.oneof(word, fc.integer(), fc.double())), anyPoint, (words, fields) => {
        const result = decodePoint(words, point(fields));
        expect(result.value === null ? result.reason : typeof result.value).toMatch(/^(number|decode|no-sensor)$/);
      }),
      { numRuns: 2000 },
    );
  });
});
