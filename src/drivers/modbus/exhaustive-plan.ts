/**
 * Brute-force oracle for the planner, used by tests/planner and bench/modbus-bus.ts. Tries EVERY way to
 * group the readable wanted ranges into requests, including groups that are not consecutive in address order and requests that overlap. A request always
 * spans min..max of its group (a wider one never costs less: cost is non-decreasing in length, tested in
 * wire-cost.test.ts). Exponential (Bell numbers): n ≤ 8 distinct ranges; consecutiveOnly: n ≤ 20.
 * Deliberately shares no search code with the planner; it reuses only input validation.
 */
import {
  effectiveMaxPerRead,
  planCostMs,
  validatePlanInput,
  type PlanInput,
  type PlannedRead,
  type ReadPlan,
  type UnreadableRange,
} from './planner.js';
import type { LineTiming } from './wire-cost.js';
import { PasserelleError } from '../../core/errors.js';

/** Bell(8) = 4140 partitions. */
export const MAX_BRUTE_FORCE_RANGES = 8;
/** 2^(20-1) ≈ 524 000 consecutive partitions: a few seconds, for benchmarks on whole device profiles. */
export const MAX_CONSECUTIVE_RANGES = 20;

interface Span {
  start: number;
  end: number;
}

export interface ExhaustiveOptions {
  /** Only partitions into runs consecutive in (start, end) order: 2^(n-1) candidates instead of Bell(n). */
  readonly consecutiveOnly?: boolean;
}

export function exhaustivePlan(input: PlanInput, timing: LineTiming, options: ExhaustiveOptions = {}): ReadPlan {
  validatePlanInput(input);
  const max = effectiveMaxPerRead(input.fn, input.maxPerRead);
  const touchesRefused = (s: Span): boolean => input.refused.some((r) => r.start <= s.end && s.start <= r.end);
  const unreadable: UnreadableRange[] = [];
  const readable: number[] = [];
  input.wanted.forEach((w, index) => {
    const span = { start: w.address, end: w.address + w.count - 1 };
    if (w.count > max) unreadable.push({ index, address: w.address, count: w.count, reason: 'too-large' });
    else if (touchesRefused(span)) unreadable.push({ index, address: w.address, count: w.count, reason: 'refused' });
    else readable.push(index);
  });

  const keys = [...new Set(readable.map((i) => `${input.wanted[i]!.address}:${input.wanted[i]!.count}`))];
  const spans: Span[] = keys
    .map((k) => k.split(':').map(Number) as [number, number])
    .map(([address, count]) => ({ start: address, end: address + count - 1 }))
    .sort((a, b) => a.start - b.start || a.end - b.end);
  const limit = options.consecutiveOnly ? MAX_CONSECUTIVE_RANGES : MAX_BRUTE_FORCE_RANGES;
  if (spans.length > limit) {
    throw new PasserelleError('MODBUS_EXHAUSTIVE_TOO_BIG', `brute force limited to ${limit} distinct ranges, got ${spans.length}`);
  }

  const hullOf = (group: readonly number[]): Span => ({
    start: Math.min(...group.map((g) => spans[g]!.start)),
    end: Math.max(...group.map((g) => spans[g]!.end)),
  });
  const feasible = (s: Span): boolean => s.end - s.start + 1 <= max && !touchesRefused(s);
  const costOf = (hulls: readonly Span[]): number =>
    planCostMs(hulls.map((h) => ({ fn: input.fn, count: h.end - h.start + 1 })), timing, input.turnaroundMs);

  let best: Span[] = [];
  let bestCost = Infinity;
  const partitions = options.consecutiveOnly ? consecutivePartitions(spans.length) : setPartitions(spans.length);
  for (const partition of partitions) {
    const hulls = partition.map(hullOf);
    if (!hulls.every(feasible)) continue;
    const cost = costOf(hulls);
    if (cost < bestCost) {
      bestCost = cost;
      best = hulls;
    }
  }

  const reads: PlannedRead[] = best.map((h) => ({
    unit: input.unit,
    fn: input.fn,
    address: h.start,
    count: h.end - h.start + 1,
    covers: readable.filter((i) => {
      const w = input.wanted[i]!;
      return h.start <= w.address && w.address + w.count - 1 <= h.end;
    }),
  }));
  // A range may sit inside several overlapping hulls: keep it in the first only.
  const seen = new Set<number>();
  const deduped = reads.map((r) => ({ ...r, covers: r.covers.filter((i) => !seen.has(i) && seen.add(i)) }));
  return { reads: deduped, unreadable };
}

/** Every partition of {0..n-1} into non-empty groups (restricted growth strings). */
export function* setPartitions(n: number): Generator<number[][]> {
  if (n === 0) {
    yield [];
    return;
  }
  const labels = new Array<number>(n).fill(0);
  const recurse = function* (i: number, groups: number): Generator<number[][]> {
    if (i === n) {
      const partition: number[][] = Array.from({ length: groups }, () => []);
      labels.forEach((g, item) => partition[g]!.push(item));
      yield partition;
      return;
    }
    for (let g = 0; g <= groups; g += 1) {
      labels[i] = g;
      yield* recurse(i + 1, Math.max(groups, g + 1));
    }
  };
  yield* recurse(0, 0);
}

/** Every split of 0..n-1 into consecutive runs. */
export function* consecutivePartitions(n: number): Generator<number[][]> {
  if (n === 0) {
    yield [];
    return;
  }
  for (let cuts = 0; cuts < 2 ** (n - 1); cuts += 1) {
    const partition: number[][] = [[0]];
    for (let i = 1; i < n; i += 1) {
      if (cuts & (1 << (i - 1))) partition.push([i]);
      else partition[partition.length - 1]!.push(i);
    }
    yield partition;
  }
}
