/**
 * Check -> plan: turns a device's chosen points into the reads one poll cycle sends, through the
 * bus-time-optimal planner. Pure.
 */
import { PasserelleError } from '../../core/errors.js';
import type { DeviceLimits, ProfilePoint, RegisterKind } from '../../profiles/schema.js';
import { registersFor } from './codec.js';
import { planReads, type PlannedRead, type RefusedRange } from './planner.js';
import type { LineTiming, ReadFunction } from './wire-cost.js';

export const FUNCTION_OF: Readonly<Record<RegisterKind, ReadFunction>> = { coil: 1, discrete: 2, holding: 3, input: 4 };

export interface DeviceRead extends PlannedRead {
  /** The points this read decodes. */
  readonly points: readonly ProfilePoint[];
}

export interface DevicePlan {
  readonly reads: readonly DeviceRead[];
  /** Points no read can serve (longer than the device's limit, or inside a range it refuses). */
  readonly unreadable: readonly { point: ProfilePoint; reason: string }[];
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
  for (const [fn, group] of groupByFunction(points)) {
    const bits = fn === 1 || fn === 2;
    const refused = [
      ...limits.refuse.filter((r) => FUNCTION_OF[r.kind] === fn).map((r) => ({ start: r.start, end: r.end })),
      ...(holes.get(fn) ?? []),
    ];
    const plan = planReads(
      {
        unit,
        fn,
        wanted: group.map((p) => ({ address: p.address, count: pointWidth(p) })),
        maxPerRead: bits ? limits.maxBitsPerRead : limits.maxRegistersPerRead,
        refused,
        turnaroundMs: limits.turnaroundMs,
      },
      timing,
    );
    for (const r of plan.reads) reads.push({ ...r, points: r.covers.map((i) => group[i]!) });
    for (const u of plan.unreadable) unreadable.push({ point: group[u.index]!, reason: u.reason });
  }
  return { reads, unreadable };
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
