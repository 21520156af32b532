/**
 * Faithfulness of the Telegraf port: expectations taken from Telegraf's own tests
 * (influxdata/telegraf plugins/inputs/modbus/modbus_test.go, the cases without `omit` fields, which we do
 * not port). There, {start, count, 1, 1, "INT16"} means `count` one-register fields from `start`.
 */
import { describe, expect, it } from 'vitest';
import {
  telegrafAggressive,
  telegrafMaxInsert,
  telegrafNone,
  telegrafRearrange,
  telegrafShrink,
} from '../../src/drivers/modbus/telegraf-grouping.js';

const MAX = 125; // maxQuantityHoldingRegisters
const singles = (start: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ address: start + i, count: 1 }));
/** Telegraf's "large gaps" input: 18..20, maxsize-2..maxsize+2, maxsize+42..maxsize+43. */
const largeGaps = [...singles(18, 3), ...singles(MAX - 2, 5), ...singles(MAX + 42, 2)];

describe('Telegraf grouping port, against Telegraf test expectations', () => {
  it('rearrange "no omit": one long run is cut at the batch size', () => {
    expect(telegrafRearrange(singles(0, 2 * MAX), MAX)).toEqual([
      { address: 0, count: MAX },
      { address: MAX, count: MAX },
    ]);
  });

  it('rearrange "large gaps": groups are never merged', () => {
    expect(telegrafRearrange(largeGaps, MAX)).toEqual([
      { address: 18, count: 3 },
      { address: MAX - 2, count: 5 },
      { address: MAX + 42, count: 2 },
    ]);
  });

  it('aggressive "large gaps": merges across groups within the batch size', () => {
    expect(telegrafAggressive(largeGaps, MAX)).toEqual([
      { address: 18, count: 3 },
      { address: MAX - 2, count: 46 },
    ]);
  });

  it('max_insert with fill 5 "large gaps": no hole is small enough', () => {
    expect(telegrafMaxInsert(largeGaps, MAX, 5)).toEqual([
      { address: 18, count: 3 },
      { address: MAX - 2, count: 5 },
      { address: MAX + 42, count: 2 },
    ]);
  });

  it('max_insert with the default fill (50) bridges the 39-register hole only', () => {
    expect(telegrafMaxInsert(largeGaps, MAX)).toEqual([
      { address: 18, count: 3 },
      { address: MAX - 2, count: 46 },
    ]);
  });

  it('max_insert "request overlap": overlapping fields end in one request', () => {
    const wanted = [
      { address: 1, count: 2 },
      { address: 3, count: 4 },
      { address: 5, count: 2 },
      { address: 7, count: 2 },
    ];
    expect(telegrafMaxInsert(wanted, MAX, 16)).toEqual([{ address: 1, count: 8 }]);
  });

  it('none and shrink keep consecutive groups apart', () => {
    expect(telegrafNone(largeGaps, MAX)).toEqual(telegrafShrink(largeGaps, MAX));
    expect(telegrafNone(largeGaps, MAX)).toHaveLength(3);
  });

  it('keeps Telegraf quirks: a field nested in the previous one shrinks a max_insert request', () => {
    // Documented, not endorsed: the benchmark must check validity before comparing costs.
    expect(telegrafMaxInsert([{ address: 0, count: 4 }, { address: 1, count: 1 }], MAX)).toEqual([
      { address: 0, count: 2 },
    ]);
  });
});
