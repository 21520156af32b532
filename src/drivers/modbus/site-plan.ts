/**
 * The line budget of a whole site, before anyone goes on site: per bus, the reads one poll cycle of each
 * device sends (the same planner the gateway polls with), their bus time, and warnings when a device's
 * cycle does not fit its poll interval or the devices together ask more of a line than it has. Pure.
 *
 * Inputs are structural (a validated site config satisfies them) because drivers may not import config.
 */
import { formatDuration } from '../../core/duration.js';
import { PasserelleError } from '../../core/errors.js';
import type { Profile } from '../../profiles/schema.js';
import { planDevice, selectPoints, type DeviceRead } from './device-plan.js';
import { requestCostMs, type LineTiming } from './wire-cost.js';

export interface SitePlanBus {
  readonly id: string;
  readonly type: 'serial' | 'tcp';
  /** Serial buses only. */
  readonly baud?: number;
}

export interface SitePlanDevice {
  readonly id: string;
  /** Absent only for a flow device (virtual: no line). */
  readonly bus?: string;
  /** Absent means modbus. Other protocols (TIC, SDI-12, ...) own their port: their bus is not planned. */
  readonly protocol?: string;
  /** Required for Modbus devices (the validated config guarantees it). */
  readonly unit?: number;
  readonly profile?: string;
  readonly poll: number; // ms
  readonly points?: readonly string[];
}

export interface SitePlanInput {
  readonly buses: readonly SitePlanBus[];
  readonly devices: readonly SitePlanDevice[];
}

export interface CycleRead extends DeviceRead {
  /** Bus time of this one transaction, ms (requestCostMs with the bus timing and the profile's turnaround). */
  readonly busTimeMs: number;
}

export interface DeviceCycle {
  readonly device: string;
  readonly unit: number;
  readonly profile: string;
  readonly pollMs: number;
  readonly reads: readonly CycleRead[];
  readonly unreadable: readonly { readonly point: string; readonly reason: string }[];
  /** Bus time of one poll cycle of this device, ms. */
  readonly busTimeMs: number;
}

export type PlanWarningKind = 'cycle-exceeds-poll' | 'line-over-budget' | 'unreadable-point';

export interface PlanWarning {
  readonly kind: PlanWarningKind;
  readonly bus: string;
  readonly device?: string;
  readonly message: string;
}

export interface BusPlan {
  readonly bus: string;
  readonly type: 'serial' | 'tcp';
  /** null on TCP. */
  readonly baud: number | null;
  readonly timing: LineTiming;
  readonly devices: readonly DeviceCycle[];
  /** Sum of the devices' cycle bus times, ms. */
  readonly busTimeMs: number;
  /** Share of the line's time the devices need: sum of busTime / poll. Above 1 the line cannot keep up. */
  readonly load: number;
}

export interface SitePlan {
  /** Modbus buses, in config order. */
  readonly buses: readonly BusPlan[];
  /** Buses left out because a serial protocol other than Modbus owns them. */
  readonly otherBuses: readonly { readonly bus: string; readonly protocols: readonly string[] }[];
  readonly warnings: readonly PlanWarning[];
}

/** TCP round trip assumed for a LAN, the same figure the gateway plans with. */
export const TCP_PLAN_RTT_MS = 1;

export function lineTimingOf(bus: SitePlanBus): LineTiming {
  if (bus.type === 'tcp') return { kind: 'tcp', rttMs: TCP_PLAN_RTT_MS };
  if (bus.baud === undefined) throw new PasserelleError('E_PLAN_BUS', `bus ${bus.id}: a serial bus needs a baud rate`);
  return { kind: 'rtu', baud: bus.baud };
}

export function planSite(input: SitePlanInput, profiles: ReadonlyMap<string, Profile>): SitePlan {
  for (const d of input.devices) {
    if (protocolOf(d) === 'flow') continue;
    if (!input.buses.some((b) => b.id === d.bus)) throw new PasserelleError('E_CONFIG_BUS', `device ${d.id}: no bus "${d.bus}"`);
  }
  const buses: BusPlan[] = [];
  const otherBuses: { bus: string; protocols: string[] }[] = [];
  for (const bus of input.buses) {
    const devices = input.devices.filter((d) => d.bus === bus.id);
    const others = [...new Set(devices.map(protocolOf).filter((p) => p !== 'modbus'))];
    if (others.length > 0) otherBuses.push({ bus: bus.id, protocols: others });
    else buses.push(planBus(bus, devices, profiles));
  }
  return { buses, otherBuses, warnings: buses.flatMap(warningsOf) };
}

const protocolOf = (d: SitePlanDevice): string => d.protocol ?? 'modbus';

function planBus(bus: SitePlanBus, devices: readonly SitePlanDevice[], profiles: ReadonlyMap<string, Profile>): BusPlan {
  const timing = lineTimingOf(bus);
  const cycles = devices.map((d) => planCycle(d, timing, profiles));
  return {
    bus: bus.id,
    type: bus.type,
    baud: bus.type === 'serial' ? (bus.baud ?? null) : null,
    timing,
    devices: cycles,
    busTimeMs: cycles.reduce((sum, c) => sum + c.busTimeMs, 0),
    load: cycles.reduce((sum, c) => sum + c.busTimeMs / c.pollMs, 0),
  };
}

function planCycle(device: SitePlanDevice, timing: LineTiming, profiles: ReadonlyMap<string, Profile>): DeviceCycle {
  if (device.unit === undefined || device.profile === undefined) {
    throw new PasserelleError('E_CONFIG_DEVICE', `device ${device.id}: a Modbus device needs a unit and a profile`);
  }
  const profile = profiles.get(device.profile);
  if (!profile) throw new PasserelleError('E_CONFIG_PROFILE', `device ${device.id}: no profile "${device.profile}" in hardware/profiles`);
  const points = selectPoints(device.id, profile.id, profile.points, device.points);
  const plan = planDevice(device.unit, points, profile.limits, timing);
  const reads = plan.reads.map((r) => ({ ...r, busTimeMs: requestCostMs(timing, r.fn, r.count, profile.limits.turnaroundMs) }));
  return {
    device: device.id,
    unit: device.unit,
    profile: profile.id,
    pollMs: device.poll,
    reads,
    unreadable: plan.unreadable.map((u) => ({ point: u.point.name, reason: u.reason })),
    busTimeMs: reads.reduce((sum, r) => sum + r.busTimeMs, 0),
  };
}

export const formatBusTime = (ms: number): string => (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);
const percent = (fraction: number): string => `${Math.round(fraction * 100)}%`;

function warningsOf(bus: BusPlan): PlanWarning[] {
  const warnings: PlanWarning[] = [];
  for (const c of bus.devices) {
    for (const u of c.unreadable) {
      warnings.push({
        kind: 'unreadable-point',
        bus: bus.bus,
        device: c.device,
        message: `device ${c.device}: point ${u.point} cannot be read (${u.reason === 'too-large' ? 'longer than the device allows per read' : 'inside a range the device refuses'})`,
      });
    }
    if (c.busTimeMs > c.pollMs) {
      warnings.push({
        kind: 'cycle-exceeds-poll',
        bus: bus.bus,
        device: c.device,
        message: `device ${c.device}: one cycle needs ${formatBusTime(c.busTimeMs)} of bus time but it polls every ${formatDuration(c.pollMs)}; lengthen poll or select fewer points`,
      });
    }
  }
  if (bus.load > 1) {
    warnings.push({
      kind: 'line-over-budget',
      bus: bus.bus,
      message: `bus ${bus.bus}: the devices need ${percent(bus.load)} of the line's time (${percent(bus.load - 1)} over budget); lengthen poll intervals, raise the baud rate or split the line`,
    });
  }
  return warnings;
}

/** The `passerelle plan --json` document; the shape is a contract with scripts. */
export interface SitePlanJson {
  buses: { bus: string; baud: number | null; busTimeMs: number; requests: { unit: number; function: number; address: number; count: number }[] }[];
}

/** Bus times rounded to the microsecond: finer digits are noise next to any real line. */
export function sitePlanJson(plan: SitePlan): SitePlanJson {
  return {
    buses: plan.buses.map((b) => ({
      bus: b.bus,
      baud: b.baud,
      busTimeMs: Math.round(b.busTimeMs * 1000) / 1000,
      requests: b.devices.flatMap((d) => d.reads.map((r) => ({ unit: r.unit, function: r.fn, address: r.address, count: r.count }))),
    })),
  };
}
