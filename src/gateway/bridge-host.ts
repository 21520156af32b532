/**
 * The gateway's side of the bridge contract (src/bridge/host.ts): what flows may ask, decided from the
 * site config. Flows share the line with polling through the same ModbusBus (demand priority), but at
 * most MAX_BRIDGE_JOBS_PER_BUS of their requests is on or waits for one line: more are answered BUSY at once (a
 * poll then waits at most one flow transaction: bench/nodered.ts measures the jitter), so a
 * flow can neither fill the bus queue (which would refuse routine polls) nor wait without bound.
 * Points of the identifier and personal classes never reach flows: flows can send data anywhere.
 */
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { NEVER_UPSTREAM, pointKey, type DataClass, type PointInfo, type Reading } from '../core/types.js';
import { isFlowDevice, isModbusDevice, type Config } from '../config/schema.js';
import type { Profile } from '../profiles/schema.js';
import type { ModbusBus } from '../bus/modbus-bus.js';
import { decodePoint, registersFor } from '../drivers/modbus/codec.js';
import { FUNCTION_OF } from '../drivers/modbus/device-plan.js';
import { writePoint } from '../drivers/modbus/write.js';
import type { BridgeHost, BridgeListener, PointValue, RegisterRead } from '../bridge/host.js';

export const MAX_BRIDGE_JOBS_PER_BUS = 1;
/** A flow value stamped further ahead than this is refused (a flow's clock bug, not a reading). */
const MAX_FUTURE_MS = 5_000;

export interface BridgeHostDeps {
  readonly config: Config;
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly buses: ReadonlyMap<string, ModbusBus>;
  readonly points: readonly PointInfo[];
  readonly logger: Logger;
  /** The pipeline entry (clock guard, quality checks, aggregation, store). */
  readonly ingest: (readings: readonly Reading[]) => void;
  readonly listen: (listener: BridgeListener) => () => void;
}

export function createBridgeHost(deps: BridgeHostDeps): BridgeHost {
  const { config } = deps;
  const classOf = new Map<string, DataClass>(deps.points.map((p) => [pointKey(p.device, p.point), p.dataClass]));
  const local = (device: string, point: string) => NEVER_UPSTREAM.has(classOf.get(pointKey(device, point)) ?? 'personal');
  const waiting = new Map<string, number>();

  async function onBus<T>(busId: string, job: (bus: ModbusBus) => Promise<T>): Promise<T> {
    const bus = deps.buses.get(busId);
    if (!bus) throw new PasserelleError('E_BRIDGE_BUS', `no Modbus bus "${busId}" (Modbus buses: ${[...deps.buses.keys()].join(', ') || 'none'})`);
    const n = waiting.get(busId) ?? 0;
    if (n >= MAX_BRIDGE_JOBS_PER_BUS) throw new PasserelleError('BUSY', `bus ${busId}: ${n} flow requests already wait for the line; try again later`, true);
    waiting.set(busId, n + 1);
    try {
      return await job(bus);
    } finally {
      waiting.set(busId, (waiting.get(busId) ?? 1) - 1);
    }
  }

  function modbusDevice(id: string) {
    const device = config.devices.find((d) => d.id === id);
    if (!device) throw new PasserelleError('E_BRIDGE_DEVICE', `no device "${id}" in the site config`);
    if (!isModbusDevice(device)) throw new PasserelleError('E_BRIDGE_DEVICE', `device ${id} is a ${device.protocol} device, not a Modbus one`);
    const profile = deps.profiles.get(device.profile);
    if (!profile) throw new PasserelleError('E_CONFIG_PROFILE', `device ${id}: no profile "${device.profile}"`);
    return { device, profile };
  }

  return {
    readRegisters: (req: RegisterRead) =>
      onBus(req.bus, (bus) => bus.read(req.unit, req.fn, req.address, req.count, { priority: 'demand', retries: 0 })),

    async readPoint(deviceId, pointName): Promise<PointValue> {
      const { device, profile } = modbusDevice(deviceId);
      const point = profile.points.find((p) => p.name === pointName);
      if (!point) throw new PasserelleError('E_BRIDGE_POINT', `device ${deviceId}: profile ${profile.id} has no point "${pointName}"`);
      if (NEVER_UPSTREAM.has(point.class)) throw new PasserelleError('E_BRIDGE_CLASS', `${deviceId}.${pointName} is ${point.class} data: it stays in the gateway, flows cannot read it`);
      const ts = Date.now();
      const words = await onBus(device.bus, (bus) =>
        bus.read(device.unit, FUNCTION_OF[point.kind], point.address, registersFor(point.type), { priority: 'demand', retries: 0, timeoutMs: device.timeout }),
      );
      return { device: deviceId, point: pointName, value: decodePoint(words, point).value, ts };
    },

    async writePoint(deviceId, pointName, value) {
      const device = config.devices.find((d) => d.id === deviceId);
      if (!device || !isModbusDevice(device))
        throw new PasserelleError('E_WRITE_NOT_ALLOWED', `${deviceId}.${pointName}: only points of Modbus devices listed under writable can be written; nothing was sent`);
      const { profile } = modbusDevice(deviceId);
      // Refused before taking a place on the line: a refusal never waits behind reads, nor answers BUSY.
      if (!device.writable.includes(pointName))
        throw new PasserelleError('E_WRITE_NOT_ALLOWED', `device ${deviceId}: point ${pointName} is not in the device's writable list; nothing was sent`);
      await onBus(device.bus, (bus) =>
        writePoint({ id: device.id, unit: device.unit, profile, writable: device.writable, bus, logger: deps.logger.child({ from: 'node-red' }) }, pointName, value),
      );
    },

    virtualPoint(deviceId, pointName, value, ts) {
      const device = config.devices.find((d) => d.id === deviceId);
      if (!device || !isFlowDevice(device)) throw new PasserelleError('E_BRIDGE_DEVICE', `no flow device "${deviceId}": declare it under devices with protocol: flow`);
      if (!device.flow.points.some((p) => p.name === pointName))
        throw new PasserelleError('E_BRIDGE_POINT', `device ${deviceId} declares no point "${pointName}" (declared: ${device.flow.points.map((p) => p.name).join(', ')})`);
      const now = Date.now();
      if (ts > now + MAX_FUTURE_MS || ts < now - config.aggregation.window)
        throw new PasserelleError('E_BRIDGE_TS', `${deviceId}.${pointName}: time ${new Date(ts).toISOString()} is too far from now; leave ts out to stamp it on arrival`);
      deps.ingest([{ device: deviceId, point: pointName, ts, value, quality: 'good' }]);
    },

    listen(listener) {
      return deps.listen({
        readings: (readings) => {
          const shown = readings.filter((r) => !local(r.device, r.point));
          if (shown.length > 0) listener.readings(shown);
        },
        summary: (summary) => listener.summary({ ...summary, points: summary.points.filter((p) => !NEVER_UPSTREAM.has(p.dataClass)) }),
      });
    },
  };
}
