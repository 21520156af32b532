import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { closest, editDistance } from '../../src/config/suggest.js';

const word = fc.string({ maxLength: 12 });

describe('editDistance', () => {
  it('is zero exactly for equal words, and symmetric', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(editDistance(a, b) === 0).toBe(a === b);
        expect(editDistance(a, b)).toBe(editDistance(b, a));
      }),
    );
  });

  it('lies between the length difference and the longer length', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b);
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      }),
    );
  });

  it('counts one deletion, insertion, substitution or swap of neighbours as 1', () => {
    expect(editDistance('poll', 'pol')).toBe(1);
    expect(editDistance('pol', 'poll')).toBe(1);
    expect(editDistance('baud', 'bawd')).toBe(1);
    expect(editDistance('timeout', 'tiemout')).toBe(1);
  });
});

describe('closest', () => {
  const keys = ['id', 'bus', 'unit', 'profile', 'poll', 'points', 'writable'];

  it('suggests a candidate at least as close as the intended key after one typo', () => {
    fc.assert(
      fc.property(fc.constantFrom(...keys.filter((k) => k.length >= 4)), fc.nat(), fc.constantFrom('drop', 'swap', 'upper'), (key, at, kind) => {
        const i = at % (key.length - 1);
        const typo =
          kind === 'drop' ? key.slice(0, i) + key.slice(i + 1)
          : kind === 'swap' ? key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2)
          : key.toUpperCase();
        fc.pre(typo !== key);
        const suggestion = closest(typo, keys);
        expect(suggestion).toBeDefined();
        expect(editDistance(suggestion!.toLowerCase(), typo.toLowerCase())).toBeLessThanOrEqual(editDistance(key.toLowerCase(), typo.toLowerCase()));
      }),
    );
  });

  it('suggests nothing for an unrelated word', () => {
    expect(closest('colour', keys)).toBeUndefined();
    expect(closest('x', ['serial', 'tcp'])).toBeUndefined();
  });
});
