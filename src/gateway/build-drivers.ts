/**
 * From the validated config: one bus per line, one driver per device, and the static facts about
 * every point (unit, data class, range) that the pipeline needs.
 */
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { pointKey, type Driver, type PointInfo } from '../core/types.js';
import { isFlowDevice, modbusDevices, serialProtocolBusIds } from '../config/devices.js';
import type { BusConfig, Config, DeviceConfig } from '../config/schema.js';
import type { Profile, ProfilePoint } from '../profiles/schema.js';
import type { PointQuality } from '../pipeline/quality.js';
import { ModbusBus } from '../bus/modbus-bus.js';
import type { Endpoint } from '../bus/modbus-client.js';
import { ModbusDeviceDriver } from '../drivers/modbus/modbus-driver.js';
import { selectPoints } from '../drivers/modbus/device-plan.js';
import { t35Ms, type LineTiming } from '../drivers/modbus/wire-cost.js';
import { serialDriversOf } from './driver-modules.js';

export interface BuiltDrivers {
  readonly buses: Map<string, ModbusBus>;
  readonly drivers: Driver[];
  readonly points: PointInfo[];
  /** Readings expected per window, by device.point key. */
  readonly expectedPerWindow: Map<string, number>;
  /** Quality settings per point: the profile's, each field replaced by the device's override. */
  readonly quality: PointQuality[];
}

/** Without a staleAfter, a polled point is stale after this many poll intervals without any reading. */
export const DEFAULT_STALE_POLLS = 3;

export const endpointOf = (bus: BusConfig): Endpoint =>
  bus.type === 'tcp'
    ? { type: 'tcp', host: bus.host, port: bus.port }
    : { type: 'serial', port: bus.port, baud: bus.baud, parity: bus.parity, dataBits: bus.dataBits, stopBits: bus.stopBits };

/** Line timing for the planner. TCP round trip: a LAN's order of magnitude. */
export const timingOf = (bus: BusConfig): LineTiming => (bus.type === 'tcp' ? { kind: 'tcp', rttMs: 1 } : { kind: 'rtu', baud: bus.baud });

export function buildDrivers(config: Config, profiles: ReadonlyMap<string, Profile>, logger: Logger): BuiltDrivers {
  const serialOwned = serialProtocolBusIds(config);
  const buses = new Map<string, ModbusBus>();
  for (const bus of config.buses) {
    // A TIC, SDI-12 or line driver opens its port itself: no Modbus bus may hold it.
    if (serialOwned.has(bus.id)) continue;
    buses.set(
      bus.id,
      new ModbusBus({
        id: bus.id,
        endpoint: endpointOf(bus),
        timeoutMs: bus.timeout,
        retries: bus.retries,
        interFrameMs: bus.type === 'serial' ? t35Ms(bus.baud) : 0,
        logger: logger.child({ bus: bus.id }),
      }),
    );
  }
  const drivers: Driver[] = [];
  const points: PointInfo[] = [];
  const expectedPerWindow = new Map<string, number>();
  const quality: PointQuality[] = [];
  for (const device of modbusDevices(config)) {
    const profile = profiles.get(device.profile);
    if (!profile) throw new PasserelleError('E_CONFIG_PROFILE', `device ${device.id}: no profile "${device.profile}" in hardware/profiles`);
    const busConfig = config.buses.find((b) => b.id === device.bus);
    const bus = buses.get(device.bus);
    if (!bus || !busConfig) throw new PasserelleError('E_CONFIG_BUS', `device ${device.id}: no bus "${device.bus}"`);
    const selected = selectPoints(device.id, profile.id, profile.points, device.points);
    assertQualityPointsKnown(device, selected.map((p) => p.name));
    drivers.push(
      new ModbusDeviceDriver({
        deviceId: device.id,
        unit: device.unit,
        pollMs: device.poll,
        profile,
        points: selected,
        bus,
        timing: timingOf(busConfig),
        logger: logger.child({ device: device.id }),
        pointPollMs: device.pointPoll,
        timeoutMs: device.timeout,
        retries: device.retries,
      }),
    );
    for (const p of selected) {
      const checks = pointQualityOf(device, p);
      points.push({ device: device.id, point: p.name, unit: p.unit, dataClass: p.class, measure: p.measure, range: checks.range });
      quality.push(checks);
      expectedPerWindow.set(pointKey(device.id, p.name), Math.floor(config.aggregation.window / (device.pointPoll[p.name] ?? device.poll)));
    }
  }
  const serial = serialDriversOf(config, logger);
  drivers.push(...serial.drivers);
  for (const device of config.devices.filter((d) => d.protocol !== 'modbus')) {
    assertQualityPointsKnown(device, serial.points.filter((p) => p.device === device.id).map((p) => p.point));
  }
  for (const p of serial.points) {
    const checks = serialPointQuality(config, p);
    points.push({ ...p, range: checks.range });
    quality.push(checks);
  }
  for (const [key, expected] of serial.expectedPerWindow) expectedPerWindow.set(key, expected);
  for (const p of flowPointInfos(config)) {
    points.push(p);
    // Flows push when they like: no expected count, no staleness, only the declared range.
    quality.push({ device: p.device, point: p.point, measure: p.measure, range: p.range });
  }
  return { buses, drivers, points, expectedPerWindow, quality };
}

/** The declared points of the virtual devices that flows feed through the bridge. */
export function flowPointInfos(config: Config): PointInfo[] {
  return config.devices.filter(isFlowDevice).flatMap((d) =>
    d.flow.points.map((p) => ({ device: d.id, point: p.name, unit: p.unit, dataClass: p.class, measure: p.measure, range: p.range })),
  );
}

/** TIC energy indexes have 9 digits: they roll over to 0 at 10^9 Wh. */
export const TIC_INDEX_ROLLOVER = 1e9;

/** A Linky sends a frame every 1 to 2 s: 30 s without one means the link or the meter is down. */
export const TIC_STALE_AFTER_MS = 30_000;

/**
 * Serial points: the range they declare; TIC indexes roll over. Staleness: TIC after 30 s, SDI-12
 * after three polls; a line device has no known rate, so none. The device's `quality` settings for
 * the point replace these, field by field, as for Modbus points.
 */
function serialPointQuality(config: Config, p: PointInfo): PointQuality {
  const device = config.devices.find((d) => d.id === p.device);
  const staleAfterMs =
    device?.protocol === 'tic' ? TIC_STALE_AFTER_MS : device?.protocol === 'sdi12' ? DEFAULT_STALE_POLLS * device.poll : undefined;
  const rolloverAt = device?.protocol === 'tic' && p.measure === 'counter' ? TIC_INDEX_ROLLOVER : undefined;
  const override = device?.quality[p.point];
  return {
    device: p.device,
    point: p.point,
    measure: p.measure,
    range: override?.range ?? p.range,
    maxRatePerMinute: override?.maxRatePerMinute,
    stuckAfter: override?.stuckAfter,
    staleAfterMs: override?.staleAfter ?? staleAfterMs,
    rolloverAt,
    ...(p.untilSeen ? { staleOnceSeen: true } : {}),
  };
}

/** The profile's settings, each field replaced by the device's override when it gives one. */
export function pointQualityOf(device: DeviceConfig, p: ProfilePoint): PointQuality {
  const override = device.quality[p.name];
  const merged = { ...p.quality, ...override };
  return {
    device: device.id,
    point: p.name,
    measure: p.measure,
    range: override?.range ?? p.range,
    maxRatePerMinute: merged.maxRatePerMinute,
    stuckAfter: merged.stuckAfter,
    staleAfterMs: merged.staleAfter ?? DEFAULT_STALE_POLLS * (device.pointPoll[p.name] ?? device.poll),
    rolloverAt: p.rolloverAt,
  };
}

function assertQualityPointsKnown(device: DeviceConfig, pointNames: readonly string[]): void {
  const names = new Set(pointNames);
  for (const name of Object.keys(device.quality)) {
    if (!names.has(name)) {
      const known = [...names].join(', ');
      throw new PasserelleError('E_CONFIG_QUALITY', `device ${device.id}: quality settings for "${name}", which is not one of its points (${known})`);
    }
  }
}

export type { Driver };
