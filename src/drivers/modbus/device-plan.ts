/**
 * Check -> plan: turns a device's chosen points into the reads one poll cycle sends, through the
 * bus-time-optimal planner, and says which points are due at which wall-clock tick. Pure.
 */
import { PasserelleError } from '../../core/errors.js';
import type { DeviceLimits, ProfilePoint, RegisterKind } from '../../profiles/schema.js';
import { registersFor } from './codec.js';
import { planReads, type PlannedRead, type RefusedRange, type WantedRange } from './planner.js';
import type { LineTiming, ReadFunction } from './wire-cost.js';

export const FUNCTION_OF: Readonly<Record<RegisterKind, ReadFunction>> = { coil: 1, discrete: 2, holding: 3, input: 4 };

export interface DeviceRead extends PlannedRead {
  /** The points this read decodes. */
  readonly points: readonly ProfilePoint[];
}

/** One register kind's input to the planner: read covers index these two parallel lists. */
export interface FunctionGroup {
  readonly wanted: readonly WantedRange[];
  /** The device's per-read limit for this function. */
  readonly maxPerRead: number;
  readonly points: readonly ProfilePoint[];
}

export interface DevicePlan {
  readonly reads: readonly DeviceRead[];
  /** Points no read can serve (longer than the device's limit, or inside a range it refuses). */
  readonly unreadable: readonly { point: ProfilePoint; reason: string }[];
  /** Per function, what was asked of the planner; splitOnException needs it to split a refused read. */
  readonly byFunction: ReadonlyMap<ReadFunction, FunctionGroup>;
}

export const pointWidth = (p: ProfilePoint): number => (p.kind === 'coil' || p.kind === 'discrete' ? 1 : registersFor(p.type));

/** Plans one device: one planner run per register kind. `holes` are addresses learnt to be refused at run time. */
export function planDevice(
  unit: number,
  points: readonly ProfilePoint[],
  limits: DeviceLimits,
  timing: LineTiming,
  holes: ReadonlyMap<ReadFunction, readonly RefusedRange[]> = new Map(),
): DevicePlan {
  const reads: DeviceRead[] = [];
  const unreadable: { point: ProfilePoint; reason: string }[] = [];
  const byFunction = new Map<ReadFunction, FunctionGroup>();
  for (const [fn, group] of groupByFunction(points)) {
    const wanted = group.map((p) => ({ address: p.address, count: pointWidth(p) }));
    const bits = fn === 1 || fn === 2;
    const maxPerRead = bits ? limits.maxBitsPerRead : limits.maxRegistersPerRead;
    byFunction.set(fn, { wanted, points: group, maxPerRead });
    const refused = [
      ...limits.refuse.filter((r) => FUNCTION_OF[r.kind] === fn).map((r) => ({ start: r.start, end: r.end })),
      ...(holes.get(fn) ?? []),
    ];
    const plan = planReads(
      {
        unit,
        fn,
        wanted,
        maxPerRead,
        refused,
        turnaroundMs: limits.turnaroundMs,
      },
      timing,
    );
    for (const r of plan.reads) reads.push({ ...r, points: r.covers.map((i) => group[i]!) });
    for (const u of plan.unreadable) unreadable.push({ point: group[u.index]!, reason: u.reason });
  }
  return { reads, unreadable, byFunction };
}

function groupByFunction(points: readonly ProfilePoint[]): Map<ReadFunction, ProfilePoint[]> {
  const groups = new Map<ReadFunction, ProfilePoint[]>();
  for (const p of points) {
    const fn = FUNCTION_OF[p.kind];
    groups.set(fn, [...(groups.get(fn) ?? []), p]);
  }
  return groups;
}

/** The profile points a device config selects; an unknown name is a config error naming the device. */
export function selectPoints(deviceId: string, profileId: string, all: readonly ProfilePoint[], names?: readonly string[]): ProfilePoint[] {
  if (!names) return [...all];
  return names.map((name) => {
    const p = all.find((q) => q.name === name);
    if (!p) {
      const known = all.map((q) => q.name).join(', ');
      throw new PasserelleError('E_CONFIG_POINT', `device ${deviceId}: profile ${profileId} has no point "${name}" (it has: ${known})`);
    }
    return p;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Poll schedule. Each point has an interval (the device's poll, or its own). Ticks fall on multiples of the
// intervals counted from the Unix epoch, so a 10 s and a 60 s group coincide every minute and are read in
// ONE cycle, with one plan for their union (reads merged across groups).
// ---------------------------------------------------------------------------------------------------------

export interface PollGroup {
  readonly intervalMs: number;
  readonly points: readonly ProfilePoint[];
}

/** Points grouped by interval, shortest first. `overrides` maps point names to their own interval. */
export function pollGroups(points: readonly ProfilePoint[], defaultMs: number, overrides: Readonly<Record<string, number>> = {}): PollGroup[] {
  const byInterval = new Map<number, ProfilePoint[]>();
  for (const p of points) {
    const interval = overrides[p.name] ?? defaultMs;
    if (!Number.isInteger(interval) || interval <= 0)
      throw new PasserelleError('E_CONFIG_POLL', `point ${p.name}: poll interval ${interval} ms is not a positive whole number of ms`);
    byInterval.set(interval, [...(byInterval.get(interval) ?? []), p]);
  }
  return [...byInterval].sort(([a], [b]) => a - b).map(([intervalMs, pts]) => ({ intervalMs, points: pts }));
}

/** The first tick strictly after `now`: the nearest multiple of any interval. Runs every tick: no array. */
export function nextTick(now: number, intervals: readonly number[]): number {
  let tick = Infinity;
  for (const i of intervals) tick = Math.min(tick, (Math.floor(now / i) + 1) * i);
  return tick;
}

/** Adds the intervals due at tick `t` (t being a value nextTick returned) to `into`. */
export function addDueAt(into: Set<number>, t: number, intervals: readonly number[]): void {
  for (const i of intervals) if (t % i === 0) into.add(i);
}

/** The points of the due groups: one cycle reads them all. */
export function duePoints(groups: readonly PollGroup[], due: ReadonlySet<number>): ProfilePoint[] {
  return groups.filter((g) => due.has(g.intervalMs)).flatMap((g) => g.points);
}
