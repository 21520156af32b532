import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  effectiveMaxPerRead,
  planCostMs,
  planReads,
  type PlanInput,
  type ReadPlan,
} from '../../src/drivers/modbus/planner.js';
import {
  telegrafAggressive,
  telegrafMaxInsert,
  telegrafNone,
  telegrafRearrange,
  telegrafShrink,
  type TelegrafRequest,
} from '../../src/drivers/modbus/telegraf-grouping.js';
import type { LineTiming } from '../../src/drivers/modbus/wire-cost.js';
import { exhaustivePlan } from '../../src/drivers/modbus/exhaustive-plan.js';
import { planInputArb, spanOf, timingArb, touches } from './arbitraries.js';

const RTU_9600: LineTiming = { kind: 'rtu', baud: 9600 };
const RUNS = { numRuns: 400 };

const base = (over: Partial<PlanInput>): PlanInput => ({
  unit: 1,
  fn: 4,
  wanted: [],
  maxPerRead: 125,
  refused: [],
  turnaroundMs: 0,
  ...over,
});

const spans = (plan: ReadPlan): [number, number][] => plan.reads.map((r) => [r.address, r.count]);

/** Every structural promise of a plan, checked against the input alone. */
function expectValidPlan(input: PlanInput, plan: ReadPlan): void {
  const max = effectiveMaxPerRead(input.fn, input.maxPerRead);
  const served = plan.reads.flatMap((r) => r.covers);
  const reported = plan.unreadable.map((u) => u.index);
  // Each wanted index exactly once: served by one read, or reported unreadable.
  expect([...served, ...reported].sort((a, b) => a - b)).toEqual(input.wanted.map((_, i) => i));
  for (const read of plan.reads) {
    const span = { start: read.address, end: read.address + read.count - 1 };
    expect(read.count).toBeGreaterThanOrEqual(1);
    expect(read.count).toBeLessThanOrEqual(max);
    expect(touches(span, input.refused)).toBe(false);
    expect([read.unit, read.fn]).toEqual([input.unit, input.fn]);
    for (const index of read.covers) {
      const w = spanOf(input.wanted[index]!);
      expect(w.start >= span.start && w.end <= span.end).toBe(true);
    }
  }
  for (const u of plan.unreadable) {
    const w = input.wanted[u.index]!;
    const expected = w.count > max ? 'too-large' : touches(spanOf(w), input.refused) ? 'refused' : 'readable';
    expect(u.reason).toBe(expected);
    expect([u.address, u.count]).toEqual([w.address, w.count]);
  }
}

/** A Telegraf plan is comparable only if it serves every wanted range within the same limits. */
function isValidUnder(input: PlanInput, requests: readonly TelegrafRequest[]): boolean {
  const max = effectiveMaxPerRead(input.fn, input.maxPerRead);
  const ok = requests.every((r) => {
    const span = { start: r.address, end: r.address + r.count - 1 };
    return r.count >= 1 && r.count <= max && !touches(span, input.refused);
  });
  return (
    ok &&
    input.wanted.every((w) =>
      requests.some((r) => r.address <= w.address && w.address + w.count <= r.address + r.count),
    )
  );
}

describe('planReads, worked examples', () => {
  it('reads through a gap when the gap costs less than a second request (RTU 9600)', () => {
    // One extra register costs 22 bits = 2.29 ms; a request's fixed part is 13 chars + 2 t3.5 = 22.9 ms.
    const gap = (g: number) =>
      spans(planReads(base({ wanted: [{ address: 0, count: 1 }, { address: 1 + g, count: 1 }] }), RTU_9600));
    expect(gap(9)).toEqual([[0, 11]]);
    expect(gap(11)).toEqual([
      [0, 1],
      [12, 1],
    ]);
  });

  it('plans the Eastron SDM630 points (hardware.md §2) at 9600 baud, 80 registers per read', () => {
    const wanted = [0x00, 0x06, 0x0c, 0x34, 0x46, 0x48, 0x4a, 0x156].map((address) => ({ address, count: 2 }));
    const input = base({ wanted, maxPerRead: 80, turnaroundMs: 20 });
    const plan = planReads(input, RTU_9600);
    // By hand: a request's fixed part is 22.9 ms + 20 ms turnaround = 42.9 ms, i.e. worth 18 gap registers.
    // 0..13 (gaps of 4); 0x34..0x4B (gap 0x36..0x45 = 16 registers); 0x156 alone (gap far too long).
    expect(spans(plan)).toEqual([
      [0x00, 14],
      [0x34, 24],
      [0x156, 2],
    ]);
    expect(plan.reads.map((r) => r.covers)).toEqual([[0, 1, 2], [3, 4, 5, 6], [7]]);
    const oracleCost = planCostMs(exhaustivePlan(input, RTU_9600).reads, RTU_9600, 20);
    expect(planCostMs(plan.reads, RTU_9600, 20)).toBeCloseTo(oracleCost, 9);
  });

  it('on TCP the round trip dominates, so it merges far more', () => {
    const wanted = [0x00, 0x34, 0x46, 0x156].map((address) => ({ address, count: 2 }));
    const plan = planReads(base({ wanted }), { kind: 'tcp', rttMs: 1 });
    expect(spans(plan)).toEqual([
      [0x00, 0x48],
      [0x156, 2],
    ]);
  });

  it('never reads through a refused address, nor beyond maxPerRead', () => {
    const wanted = [
      { address: 0, count: 2 },
      { address: 4, count: 2 },
      { address: 8, count: 2 },
    ];
    const refusedPlan = planReads(base({ wanted, refused: [{ start: 3, end: 3 }] }), RTU_9600);
    expect(spans(refusedPlan)).toEqual([
      [0, 2],
      [4, 6],
    ]);
    expect(spans(planReads(base({ wanted, maxPerRead: 6 }), RTU_9600))).toEqual([
      [0, 6],
      [8, 2],
    ]);
  });

  it('keeps each wanted value whole: a 2-register float is never split across reads', () => {
    const wanted = [
      { address: 0, count: 3 },
      { address: 3, count: 2 },
    ];
    // 5 registers do not fit in 4: the float at 3 goes in its own read, not split 1 + 1.
    expect(spans(planReads(base({ wanted, maxPerRead: 4 }), RTU_9600))).toEqual([
      [0, 3],
      [3, 2],
    ]);
  });

  it('serves overlapping and duplicate ranges from one read', () => {
    const wanted = [
      { address: 10, count: 4 },
      { address: 11, count: 2 },
      { address: 10, count: 4 },
      { address: 13, count: 2 },
    ];
    const plan = planReads(base({ wanted, maxPerRead: 4 }), RTU_9600);
    expect(spans(plan)).toEqual([
      [10, 4],
      [13, 2],
    ]);
    expect(plan.reads.map((r) => r.covers)).toEqual([[0, 1, 2], [3]]);
  });

  it('reports, never drops, ranges no read can serve', () => {
    const input = base({
      fn: 3,
      wanted: [
        { address: 0, count: 2 },
        { address: 10, count: 9 },
        { address: 20, count: 2 },
      ],
      maxPerRead: 8,
      refused: [{ start: 21, end: 21 }],
    });
    const plan = planReads(input, RTU_9600);
    expect(spans(plan)).toEqual([[0, 2]]);
    expect(plan.unreadable).toEqual([
      { index: 1, address: 10, count: 9, reason: 'too-large' },
      { index: 2, address: 20, count: 2, reason: 'refused' },
    ]);
  });

  it('clamps maxPerRead to the protocol limit (125 registers)', () => {
    const wanted = [
      { address: 0, count: 1 },
      { address: 125, count: 1 },
    ];
    const plan = planReads(base({ wanted, maxPerRead: 2000 }), { kind: 'tcp', rttMs: 50 });
    expect(spans(plan)).toEqual([
      [0, 1],
      [125, 1],
    ]);
  });

  it('plans nothing for nothing, and rejects impossible input with a stable code', () => {
    expect(planReads(base({}), RTU_9600)).toEqual({ reads: [], unreadable: [] });
    const bad: PlanInput[] = [
      base({ wanted: [{ address: 65535, count: 2 }] }),
      base({ wanted: [{ address: 0, count: 0 }] }),
      base({ maxPerRead: 0 }),
      base({ refused: [{ start: 5, end: 4 }] }),
      base({ fn: 5 as never }),
      base({ turnaroundMs: -1 }),
    ];
    for (const input of bad) {
      expect(() => planReads(input, RTU_9600)).toThrow(expect.objectContaining({ code: 'MODBUS_PLAN_INVALID' }));
    }
  });
});

describe('planReads, properties against the brute force', () => {
  it('is exactly as cheap as the exhaustive search over every grouping', () => {
    fc.assert(
      fc.property(planInputArb(), timingArb, (input, timing) => {
        const plan = planReads(input, timing);
        const oracle = exhaustivePlan(input, timing);
        expect(planCostMs(plan.reads, timing, input.turnaroundMs)).toBeCloseTo(
          planCostMs(oracle.reads, timing, input.turnaroundMs),
          9,
        );
        expect(plan.unreadable).toEqual(oracle.unreadable);
      }),
      RUNS,
    );
  });

  it('produces a valid plan: every range served once and whole, limits and refused ranges respected', () => {
    fc.assert(
      fc.property(planInputArb(12), timingArb, (input, timing) => {
        expectValidPlan(input, planReads(input, timing));
        // The oracle must obey the same promises, or agreeing with it would prove little.
        const small = { ...input, wanted: input.wanted.slice(0, 7) };
        expectValidPlan(small, exhaustivePlan(small, timing));
      }),
      RUNS,
    );
  });

  it('reads nothing at either edge that no wanted range needs', () => {
    fc.assert(
      fc.property(planInputArb(12), timingArb, (input, timing) => {
        for (const read of planReads(input, timing).reads) {
          const served = read.covers.map((i) => spanOf(input.wanted[i]!));
          expect(read.address).toBe(Math.min(...served.map((s) => s.start)));
          expect(read.address + read.count - 1).toBe(Math.max(...served.map((s) => s.end)));
        }
      }),
      RUNS,
    );
  });

  it('non-consecutive groupings never beat consecutive ones (why a DP over sorted ranges suffices)', () => {
    fc.assert(
      fc.property(planInputArb(), timingArb, (input, timing) => {
        const all = exhaustivePlan(input, timing);
        const consecutive = exhaustivePlan(input, timing, { consecutiveOnly: true });
        expect(planCostMs(consecutive.reads, timing, input.turnaroundMs)).toBeCloseTo(
          planCostMs(all.reads, timing, input.turnaroundMs),
          9,
        );
      }),
      RUNS,
    );
  });

  it('is never slower on the bus than any Telegraf optimisation whose plan is valid', () => {
    const strategies = {
      none: telegrafNone,
      shrink: telegrafShrink,
      rearrange: telegrafRearrange,
      aggressive: telegrafAggressive,
      max_insert: (w: PlanInput['wanted'], max: number) => telegrafMaxInsert(w, max, 50),
      max_insert_fill_3: (w: PlanInput['wanted'], max: number) => telegrafMaxInsert(w, max, 3),
    };
    let compared = 0;
    fc.assert(
      fc.property(planInputArb(12), timingArb, (input, timing) => {
        const ours = planCostMs(planReads(input, timing).reads, timing, input.turnaroundMs);
        const max = effectiveMaxPerRead(input.fn, input.maxPerRead);
        for (const strategy of Object.values(strategies)) {
          const theirs = strategy(input.wanted, max);
          if (!isValidUnder(input, theirs)) continue;
          compared += 1;
          const theirCost = planCostMs(
            theirs.map((r) => ({ fn: input.fn, count: r.count })),
            timing,
            input.turnaroundMs,
          );
          expect(ours).toBeLessThanOrEqual(theirCost + 1e-9);
        }
      }),
      RUNS,
    );
    // Guard against a vacuous pass: most generated Telegraf plans must be comparable.
    expect(compared).toBeGreaterThan(RUNS.numRuns);
  });
});
