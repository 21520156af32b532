/**
 * The serial line protocol drivers of a site config (TIC, SDI-12, ASCII lines, M-Bus) and their points, for
 * the gateway's build-drivers. Each TIC or line device owns its port; the SDI-12 sensors of one bus
 * share one Sdi12Bus, the M-Bus meters of one bus one MbusBus. These buses must get no ModbusBus (see config/devices.ts's serialProtocolBusIds).
 */
import type { Driver, PointInfo } from '../../core/types.js';
import { pointKey } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import { PasserelleError } from '../../core/errors.js';
import type { BusConfig, Config, DeviceConfig, LineDeviceConfig, MbusDeviceConfig, Sdi12DeviceConfig, TicDeviceConfig } from '../../config/schema.js';
import { LineDriver, linePointInfos } from './line-driver.js';
import { createSdi12Drivers, sdi12PointInfos } from './sdi12-driver.js';
import { createMbusDrivers, isMbusDevice, mbusPointInfos } from './mbus-driver.js';
import { TicDriver } from './tic-driver.js';
import { ticPointInfos } from './tic/points.js';
import type { SerialPortFactory } from './serial-link.js';

export const isTicDevice = (d: DeviceConfig): d is TicDeviceConfig => d.protocol === 'tic';
export const isSdi12Device = (d: DeviceConfig): d is Sdi12DeviceConfig => d.protocol === 'sdi12' && d.sdi12 !== undefined;
export const isLineDevice = (d: DeviceConfig): d is LineDeviceConfig => d.protocol === 'line' && d.line !== undefined;


export interface BuiltSerialDrivers {
  readonly drivers: Driver[];
  readonly points: PointInfo[];
  /** Readings expected per window: SDI-12 is polled; TIC and line devices push (0: unknown). */
  readonly expectedPerWindow: Map<string, number>;
}

export function buildSerialDrivers(config: Config, logger: Logger, portFactory?: SerialPortFactory): BuiltSerialDrivers {
  const busOf = (d: DeviceConfig): BusConfig => {
    const bus = config.buses.find((b) => b.id === d.bus);
    if (!bus) throw new PasserelleError('E_CONFIG_BUS', `device ${d.id}: no bus "${d.bus}"`);
    return bus;
  };
  const options = portFactory ? { portFactory } : {};
  const drivers: Driver[] = [];
  const points: PointInfo[] = [];
  const expectedPerWindow = new Map<string, number>();
  for (const d of config.devices.filter(isTicDevice)) {
    drivers.push(new TicDriver(d, busOf(d), logger.child({ device: d.id }), options));
    points.push(...ticPointInfos(d));
  }
  for (const d of config.devices.filter(isLineDevice)) {
    drivers.push(new LineDriver(d, busOf(d), logger.child({ device: d.id }), options));
    points.push(...linePointInfos(d));
  }
  const sdi12ByBus = new Map<string, Sdi12DeviceConfig[]>();
  for (const d of config.devices.filter(isSdi12Device)) sdi12ByBus.set(d.bus, [...(sdi12ByBus.get(d.bus) ?? []), d]);
  for (const devices of sdi12ByBus.values()) {
    drivers.push(...createSdi12Drivers(devices, busOf(devices[0]!), logger, portFactory));
    for (const d of devices) {
      for (const p of sdi12PointInfos(d)) {
        points.push(p);
        expectedPerWindow.set(pointKey(d.id, p.point), Math.floor(config.aggregation.window / d.poll));
      }
    }
  }
  const mbusByBus = new Map<string, MbusDeviceConfig[]>();
  for (const d of config.devices.filter(isMbusDevice)) mbusByBus.set(d.bus, [...(mbusByBus.get(d.bus) ?? []), d]);
  for (const devices of mbusByBus.values()) {
    drivers.push(...createMbusDrivers(devices, busOf(devices[0]!), logger, portFactory));
    for (const d of devices) {
      for (const p of mbusPointInfos(d)) {
        points.push(p);
        expectedPerWindow.set(pointKey(d.id, p.point), Math.floor(config.aggregation.window / d.poll));
      }
    }
  }
  return { drivers, points, expectedPerWindow };
}
