/**
 * From the validated config: one bus per line, one driver per device, and the static facts about
 * every point (unit, data class, range) that the pipeline needs.
 */
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { pointKey, type Driver, type PointInfo } from '../core/types.js';
import { modbusDevices, type BusConfig, type Config } from '../config/schema.js';
import type { Profile } from '../profiles/schema.js';
import { ModbusBus } from '../bus/modbus-bus.js';
import type { Endpoint } from '../bus/modbus-client.js';
import { ModbusDeviceDriver } from '../drivers/modbus/modbus-driver.js';
import { selectPoints } from '../drivers/modbus/device-plan.js';
import { t35Ms, type LineTiming } from '../drivers/modbus/wire-cost.js';

export interface BuiltDrivers {
  readonly buses: Map<string, ModbusBus>;
  readonly drivers: ModbusDeviceDriver[];
  readonly points: PointInfo[];
  /** Readings expected per window, by device.point key. */
  readonly expectedPerWindow: Map<string, number>;
}

export const endpointOf = (bus: BusConfig): Endpoint =>
  bus.type === 'tcp'
    ? { type: 'tcp', host: bus.host, port: bus.port }
    : { type: 'serial', port: bus.port, baud: bus.baud, parity: bus.parity, dataBits: bus.dataBits, stopBits: bus.stopBits };

/** Line timing for the planner. TCP round trip: a LAN's order of magnitude. */
export const timingOf = (bus: BusConfig): LineTiming => (bus.type === 'tcp' ? { kind: 'tcp', rttMs: 1 } : { kind: 'rtu', baud: bus.baud });

export function buildDrivers(config: Config, profiles: ReadonlyMap<string, Profile>, logger: Logger): BuiltDrivers {
  const buses = new Map<string, ModbusBus>();
  for (const bus of config.buses) {
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
  const drivers: ModbusDeviceDriver[] = [];
  const points: PointInfo[] = [];
  const expectedPerWindow = new Map<string, number>();
  for (const device of modbusDevices(config)) {
    const profile = profiles.get(device.profile);
    if (!profile) throw new PasserelleError('E_CONFIG_PROFILE', `device ${device.id}: no profile "${device.profile}" in hardware/profiles`);
    const busConfig = config.buses.find((b) => b.id === device.bus);
    const bus = buses.get(device.bus);
    if (!bus || !busConfig) throw new PasserelleError('E_CONFIG_BUS', `device ${device.id}: no bus "${device.bus}"`);
    const selected = selectPoints(device.id, profile.id, profile.points, device.points);
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
      points.push({ device: device.id, point: p.name, unit: p.unit, dataClass: p.class, measure: p.measure, range: p.range });
      expectedPerWindow.set(pointKey(device.id, p.name), Math.floor(config.aggregation.window / (device.pointPoll[p.name] ?? device.poll)));
    }
  }
  return { buses, drivers, points, expectedPerWindow };
}

export type { Driver };
