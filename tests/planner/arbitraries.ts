/** fast-check generators for small planner inputs (small enough for the brute-force oracle). */
import fc from 'fast-check';
import type { PlanInput, RefusedRange, WantedRange } from '../../src/drivers/modbus/planner.js';
import type { LineTiming, ReadFunction } from '../../src/drivers/modbus/wire-cost.js';

export const timingArb: fc.Arbitrary<LineTiming> = fc.oneof(
  fc.constantFrom(1200, 2400, 4800, 9600, 19200, 38400, 115200).map((baud): LineTiming => ({ kind: 'rtu', baud })),
  fc
    .record({
      rttMs: fc.integer({ min: 0, max: 200 }).map((n) => n / 10),
      bitsPerSecond: fc.option(fc.constantFrom(9600, 1_000_000, 100_000_000), { nil: undefined }),
    })
    .map(({ rttMs, bitsPerSecond }): LineTiming =>
      bitsPerSecond === undefined ? { kind: 'tcp', rttMs } : { kind: 'tcp', rttMs, bitsPerSecond },
    ),
);

const fnArb = fc.constantFrom<ReadFunction>(1, 2, 3, 4);

const wantedArb = (fn: ReadFunction, maxRanges: number): fc.Arbitrary<WantedRange[]> =>
  fc.array(
    fc.record({
      address: fc.integer({ min: 0, max: 40 }),
      // Bits come in longer runs; registers in 1–4 word values (u16, f32, u64).
      count: fc.integer({ min: 1, max: fn <= 2 ? 12 : 4 }),
    }),
    { minLength: 0, maxLength: maxRanges },
  );

const refusedArb: fc.Arbitrary<RefusedRange[]> = fc.array(
  fc
    .record({ start: fc.integer({ min: 0, max: 48 }), length: fc.integer({ min: 1, max: 4 }) })
    .map(({ start, length }) => ({ start, end: start + length - 1 })),
  { maxLength: 3 },
);

/** At most `maxRanges` wanted ranges (7 keeps the Bell-number brute force fast). */
export const planInputArb = (maxRanges = 7): fc.Arbitrary<PlanInput> =>
  fnArb.chain((fn) =>
    fc.record({
      unit: fc.integer({ min: 1, max: 247 }),
      fn: fc.constant(fn),
      wanted: wantedArb(fn, maxRanges),
      maxPerRead: fc.integer({ min: 1, max: 24 }),
      refused: refusedArb,
      turnaroundMs: fc.integer({ min: 0, max: 500 }).map((n) => n / 10),
    }),
  );

export const spanOf = (w: WantedRange): { start: number; end: number } => ({
  start: w.address,
  end: w.address + w.count - 1,
});

export const touches = (
  a: { start: number; end: number },
  ranges: readonly { start: number; end: number }[],
): boolean => ranges.some((r) => r.start <= a.end && a.start <= r.end);
