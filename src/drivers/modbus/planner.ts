/**
 * Modbus read planner: for one device (unit) and one register kind (function), choose the reads that cover
 * every wanted range with the least total BUS TIME, reading through gaps when that is cheaper.
 * Pure: no I/O, no clock. The brute-force oracle that proves it lives in src/drivers/modbus/exhaustive-plan.ts.
 *
 * Why the dynamic programme below is optimal (checked against the brute force by property tests):
 *  1. A read's cost depends only on its length and never decreases with it (wire-cost.ts). Shrinking a read to
 *     the hull of the ranges it serves costs no more and stays feasible (a sub-interval of a feasible read is
 *     no longer than maxPerRead and touches no refused address). So some optimal plan uses only hulls.
 *  2. A wanted range nested in another readable one is inside every read that serves the outer one: drop it
 *     from the search (it is assigned afterwards). The rest, the "frontier", has strictly increasing starts
 *     AND ends once sorted.
 *  3. In an optimal plan of hulls, a read nested in another serves nothing the outer one does not: drop it.
 *     The remaining reads have strictly increasing starts and ends, so the frontier ranges inside one read
 *     form a contiguous run (start >= read start is a suffix, end <= read end a prefix). Serving each range
 *     from the first read containing it splits the frontier into consecutive runs, and shrinking each read to
 *     its run's hull [first start, last end] costs no more (point 1).
 *  Hence the optimum is a partition of the frontier into consecutive feasible runs; the DP minimises over the
 *  last run (Bellman), O(n·k) with k the most ranges one read can hold.
 */
import { PasserelleError } from '../../core/errors.js';
import { PROTOCOL_MAX_PER_READ, requestCostMs, type LineTiming, type ReadFunction } from './wire-cost.js';

export interface WantedRange {
  readonly address: number;
  readonly count: number;
}

/** Inclusive address range the device refuses (exception 2): a read must never touch it. */
export interface RefusedRange {
  readonly start: number;
  readonly end: number;
}

export interface PlanInput {
  readonly unit: number;
  readonly fn: ReadFunction;
  /** Each range is atomic (e.g. a 2-register float): it is read whole within one request. May overlap. */
  readonly wanted: readonly WantedRange[];
  /** Clamped to the protocol limit (125 registers, 2000 bits). */
  readonly maxPerRead: number;
  readonly refused: readonly RefusedRange[];
  readonly turnaroundMs: number;
}

export interface PlannedRead {
  readonly unit: number;
  readonly fn: ReadFunction;
  readonly address: number;
  readonly count: number;
  /** Indices into `wanted` this read serves; each readable index appears in exactly one read. */
  readonly covers: readonly number[];
}

/** too-large: longer than maxPerRead; refused: touches a refused address. */
export type UnreadableReason = 'too-large' | 'refused';

export interface UnreadableRange {
  readonly index: number;
  readonly address: number;
  readonly count: number;
  readonly reason: UnreadableReason;
}

/** Every wanted index is either in exactly one read's `covers` or in `unreadable`: nothing is dropped silently. */
export interface ReadPlan {
  readonly reads: readonly PlannedRead[];
  readonly unreadable: readonly UnreadableRange[];
}

interface Span {
  readonly start: number;
  readonly end: number;
}

const MAX_ADDRESS = 0xffff;

export function planReads(input: PlanInput, timing: LineTiming): ReadPlan {
  validatePlanInput(input);
  const { readable, unreadable } = classifyWanted(input);
  const frontier = frontierOf(readable.map((i) => spanOf(input.wanted[i]!)));
  const spans = cheapestRuns(frontier, input, timing);
  const reads = spans.map((s) => ({
    unit: input.unit,
    fn: input.fn,
    address: s.start,
    count: s.end - s.start + 1,
    covers: [] as number[],
  }));
  for (const index of readable) {
    const span = spanOf(input.wanted[index]!);
    reads.find((r) => contains(spanOf(r), span))!.covers.push(index);
  }
  return { reads, unreadable };
}

/** Total bus time of a list of reads, in ms. */
export function planCostMs(
  reads: readonly { readonly fn: ReadFunction; readonly count: number }[],
  timing: LineTiming,
  turnaroundMs: number,
): number {
  return reads.reduce((sum, r) => sum + requestCostMs(timing, r.fn, r.count, turnaroundMs), 0);
}

export function effectiveMaxPerRead(fn: ReadFunction, maxPerRead: number): number {
  return Math.min(maxPerRead, PROTOCOL_MAX_PER_READ[fn]);
}

/** Splits wanted indices into those a read could serve and those none can (with the reason). */
export function classifyWanted(input: PlanInput): { readable: number[]; unreadable: UnreadableRange[] } {
  const max = effectiveMaxPerRead(input.fn, input.maxPerRead);
  const readable: number[] = [];
  const unreadable: UnreadableRange[] = [];
  input.wanted.forEach((w, index) => {
    const reason: UnreadableReason | undefined =
      w.count > max ? 'too-large' : touchesRefused(spanOf(w), input.refused) ? 'refused' : undefined;
    if (reason === undefined) readable.push(index);
    else unreadable.push({ index, address: w.address, count: w.count, reason });
  });
  return { readable, unreadable };
}

export function touchesRefused(span: Span, refused: readonly RefusedRange[]): boolean {
  return refused.some((r) => r.start <= span.end && span.start <= r.end);
}

const spanOf = (w: WantedRange): Span => ({ start: w.address, end: w.address + w.count - 1 });
const contains = (outer: Span, inner: Span): boolean => outer.start <= inner.start && inner.end <= outer.end;

/** Distinct spans not nested in another one, sorted: starts and ends both strictly increase. */
function frontierOf(spans: readonly Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start || b.end - a.end);
  const frontier: Span[] = [];
  for (const span of sorted) {
    // Sorted by start, then longest first: nested iff an earlier span already reaches as far.
    if (frontier.length === 0 || span.end > frontier[frontier.length - 1]!.end) frontier.push(span);
  }
  return frontier;
}

/** The DP: best[j] = cheapest cover of frontier[0..j-1]; the last read spans frontier[i..j-1]. */
function cheapestRuns(frontier: readonly Span[], input: PlanInput, timing: LineTiming): Span[] {
  const max = effectiveMaxPerRead(input.fn, input.maxPerRead);
  const limit = frontier.map((a) => firstRefusedAfter(a, input.refused));
  const best: number[] = [0];
  const runStart: number[] = [0];
  for (let j = 1; j <= frontier.length; j += 1) {
    const end = frontier[j - 1]!.end;
    best[j] = Infinity;
    // Walking i down widens the hull and lowers the refused limit, so the first infeasible run ends the loop.
    for (let i = j - 1; i >= 0; i -= 1) {
      const start = frontier[i]!.start;
      if (end - start + 1 > max || end >= limit[i]!) break;
      const cost = best[i]! + requestCostMs(timing, input.fn, end - start + 1, input.turnaroundMs);
      if (cost < best[j]!) {
        best[j] = cost;
        runStart[j] = i;
      }
    }
  }
  const runs: Span[] = [];
  for (let j = frontier.length; j > 0; j = runStart[j]!) {
    runs.push({ start: frontier[runStart[j]!]!.start, end: frontier[j - 1]!.end });
  }
  return runs.reverse();
}

/**
 * Lowest refused address a read starting at `atom.start` could reach. Valid because the atom itself is
 * readable: every refused range ending at or after its start begins after its end.
 */
function firstRefusedAfter(atom: Span, refused: readonly RefusedRange[]): number {
  return refused.reduce((low, r) => (r.end >= atom.start ? Math.min(low, r.start) : low), Infinity);
}

const isAddress = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= MAX_ADDRESS;

export function validatePlanInput(input: PlanInput): void {
  const fail = (what: string): never => {
    throw new PasserelleError('MODBUS_PLAN_INVALID', `Cannot plan Modbus reads for unit ${input.unit}: ${what}.`);
  };
  if (!Number.isInteger(input.unit) || input.unit < 0 || input.unit > 255) fail('unit id must be 0–255');
  if (![1, 2, 3, 4].includes(input.fn)) fail(`function ${input.fn} is not a read function (1–4)`);
  if (!Number.isInteger(input.maxPerRead) || input.maxPerRead < 1) fail('maxPerRead must be a positive integer');
  if (!Number.isFinite(input.turnaroundMs) || input.turnaroundMs < 0) fail('turnaround must be ≥ 0 ms');
  for (const w of input.wanted) {
    if (!isAddress(w.address) || !Number.isInteger(w.count) || w.count < 1 || !isAddress(w.address + w.count - 1)) {
      fail(`wanted range at ${w.address} × ${w.count} is outside addresses 0–65535 or empty`);
    }
  }
  for (const r of input.refused) {
    if (!isAddress(r.start) || !isAddress(r.end) || r.start > r.end) {
      fail(`refused range ${r.start}–${r.end} is invalid`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Learning holes from exception 2 (illegal data address).
//
// Rule, applied to a read the device answered with exception 2:
//  - Gap addresses (inside the read, wanted by NO wanted range) become suspected-refused: reading through
//    them was only an optimisation, so a wrong suspicion costs bus time, never data.
//  - If the read served two or more frontier ranges (a merge), retry each frontier range alone (its own
//    span, no gap reading; nested ranges ride with their container). A range that then fails alone is
//    found by the next rule.
//  - If it served one frontier range read wider than that range, retry the range alone.
//  - If it was exactly one range's own span, that range is unreadable: report every index it served and
//    mark its span refused, so the next plan reports (not silently drops) any range touching it.
// Each failure either adds refused addresses or shrinks the failed read, so the loop converges.
// Limitation: a device that refuses a merge of individually readable ranges for a reason other than an
// address (e.g. block boundaries) keeps failing the merge; the caller should then lower maxPerRead.
// ---------------------------------------------------------------------------------------------------------

export interface HoleLesson {
  /** Addresses to add to the device's refused list (not merged with the old list; see learnHole). */
  readonly suspectedRefused: readonly RefusedRange[];
  /** Smaller reads to try now, in place of the failed one. */
  readonly retry: readonly PlannedRead[];
  /** Wanted indices the device will not serve. */
  readonly unreadable: readonly number[];
}

/**
 * `maxPerRead`: the device's limit. A wanted range longer than it is never read, so the addresses it alone
 * needs are gaps like any other (otherwise a hole under it would be read through again and again).
 */
export function splitOnException(read: PlannedRead, wanted: readonly WantedRange[], maxPerRead = Infinity): HoleLesson {
  const readSpan = spanOf(read);
  const own = read.covers.map((index) => {
    const w = wanted[index];
    if (w === undefined) {
      throw new PasserelleError('MODBUS_PLAN_INVALID', `Read at ${read.address} serves unknown wanted index ${index}.`);
    }
    return { index, span: spanOf(w) };
  });
  const max = Number.isFinite(maxPerRead) ? effectiveMaxPerRead(read.fn, maxPerRead) : Infinity;
  const gaps = uncoveredWithin(readSpan, wanted.filter((w) => w.count <= max).map(spanOf));
  const frontier = frontierOf(own.map((o) => o.span));
  const only = frontier[0];
  if (frontier.length === 1 && only !== undefined && only.start === readSpan.start && only.end === readSpan.end) {
    return { suspectedRefused: [readSpan], retry: [], unreadable: read.covers.slice() };
  }
  const retry = frontier.map((span) => ({
    unit: read.unit,
    fn: read.fn,
    address: span.start,
    count: span.end - span.start + 1,
    covers: [] as number[],
  }));
  for (const o of own) retry.find((r) => contains(spanOf(r), o.span))!.covers.push(o.index);
  return { suspectedRefused: gaps, retry, unreadable: [] };
}

/** The device's refused list after a read failed with exception 2: old list plus the lesson, merged. */
export function learnHole(
  refused: readonly RefusedRange[],
  read: PlannedRead,
  wanted: readonly WantedRange[],
  maxPerRead = Infinity,
): RefusedRange[] {
  return mergeRanges([...refused, ...splitOnException(read, wanted, maxPerRead).suspectedRefused]);
}

/**
 * Sorted, disjoint, non-adjacent ranges. Bounded: within 65 536 addresses the result never exceeds 32 768
 * ranges, however many lessons are merged in.
 */
export function mergeRanges(ranges: readonly RefusedRange[]): RefusedRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: { start: number; end: number }[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push({ start: r.start, end: r.end });
  }
  return merged;
}

/** Parts of `outer` no span covers. */
function uncoveredWithin(outer: Span, spans: readonly Span[]): Span[] {
  const gaps: Span[] = [];
  let next = outer.start;
  for (const s of mergeRanges(spans)) {
    if (s.end < next) continue;
    if (s.start > outer.end) break;
    if (s.start > next) gaps.push({ start: next, end: s.start - 1 });
    next = s.end + 1;
  }
  if (next <= outer.end) gaps.push({ start: next, end: outer.end });
  return gaps;
}
