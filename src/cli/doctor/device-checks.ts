/**
 * Each device, asked once: a Modbus device answers one configured register; a Linky (TIC) sends a frame
 * whose groups have good checksums at the configured speed. Other protocols are left to `read`.
 */
import type { BusConfig, Config, DeviceConfig } from '../../config/index.js';
import { errorMessage } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import type { Profile } from '../../profiles/index.js';
import { fail, pass, warn, type Finding } from './verdict.js';

/** How long a TIC port is listened to: a historique frame comes every 1-2 s at 1200 baud. */
export const TIC_LISTEN_MS = 5000;

export async function deviceFindings(config: Config, profiles: ReadonlyMap<string, Profile>, brokenBuses: ReadonlySet<string>, ticListenMs = TIC_LISTEN_MS): Promise<Finding[]> {
  const findings: Finding[] = [];
  const buses = new Map(config.buses.map((b) => [b.id, b]));
  for (const device of config.devices) {
    if (device.bus === undefined) continue; // a flow's virtual device has no line to probe
    const bus = buses.get(device.bus);
    if (!bus || brokenBuses.has(bus.id)) continue; // the port's own finding says why
    if (device.protocol === 'modbus') findings.push(await modbusFinding(device, bus, profiles));
    else if (device.protocol === 'tic' && bus.type === 'serial') findings.push(await ticFinding(device, bus, ticListenMs));
  }
  return findings;
}

async function modbusFinding(device: DeviceConfig, bus: BusConfig, profiles: ReadonlyMap<string, Profile>): Promise<Finding> {
  const check = `device:${device.id}`;
  const profile = profiles.get(device.profile ?? '');
  const point = profile?.points.find((p) => !device.points || device.points.includes(p.name));
  if (!profile || !point || device.unit === undefined) return warn(check, 'no point to ask for', 'check the device profile');
  const { ModbusBus } = await import('../../bus/modbus-bus.js');
  const { endpointOf } = await import('../../gateway/build-drivers.js');
  const { FUNCTION_OF } = await import('../../drivers/modbus/device-plan.js');
  const { registersFor } = await import('../../profiles/index.js');
  const { t35Ms } = await import('../../drivers/modbus/wire-cost.js');
  const modbus = new ModbusBus({
    id: bus.id,
    endpoint: endpointOf(bus),
    timeoutMs: bus.timeout,
    retries: 1,
    interFrameMs: bus.type === 'serial' ? t35Ms(bus.baud) : 0,
    logger: silentLogger(),
  });
  const where = bus.type === 'serial' ? `${bus.port} at ${bus.baud} baud` : `${bus.host}:${bus.port}`;
  const asked = `unit ${device.unit}, ${point.kind} register ${point.address} (${point.name})`;
  try {
    const count = point.kind === 'coil' || point.kind === 'discrete' ? 1 : registersFor(point.type);
    await modbus.read(device.unit, FUNCTION_OF[point.kind], point.address, count, device.timeout === undefined ? {} : { timeoutMs: device.timeout });
    return pass(check, `answered ${asked} on ${where}`);
  } catch (e) {
    const reason = (e as { reason?: string }).reason;
    if (reason === 'exception') return warn(check, `refused ${asked}: ${errorMessage(e)}`, `the device answers but not this register: check the profile "${profile.id}" fits this model`);
    if (reason === 'timeout') return fail(check, `no answer to ${asked} on ${where}`, 'check the unit id, the baud rate and parity, the A/B wiring and the 120 ohm termination');
    if (reason === 'crc' || reason === 'frame') return fail(check, `garbled replies to ${asked} on ${where}: ${errorMessage(e)}`, 'check baud rate and parity against the device, then the wiring (A/B swapped, no termination, no ground)');
    if (reason === 'disconnected') return fail(check, `cannot reach ${where}: ${errorMessage(e)}`, bus.type === 'tcp' ? 'check the device or Modbus gateway is on, and its address and port (usually 502)' : 'check the adapter (passerelle ports)');
    return fail(check, `cannot ask ${asked} on ${where}: ${errorMessage(e)}`, 'check the line (passerelle scan)');
  } finally {
    await modbus.close();
  }
}

async function ticFinding(device: DeviceConfig, bus: Extract<BusConfig, { type: 'serial' }>, listenMs: number): Promise<Finding> {
  const check = `device:${device.id}`;
  const mode = device.tic?.mode ?? 'auto';
  const bauds = mode === 'standard' ? [9600] : mode === 'historique' ? [1200] : [1200, 9600];
  const heard: string[] = [];
  for (const baud of bauds) {
    const r = await listenTic(bus.port, baud, listenMs);
    if (r.frames > 0) return pass(check, `${r.frames} TIC frame(s) with good checksums at ${baud} baud (${r.groups} groups)`);
    heard.push(`${baud} baud: ${r.bytes} bytes, ${r.checksumErrors} bad checksums`);
  }
  if (heard.every((h) => h.includes(': 0 bytes'))) return fail(check, `no byte from ${bus.port} in ${listenMs / 1000} s (${heard.join('; ')})`, 'check the TIC wiring (I1/I2 to the adapter) and that the meter\'s TIC output is on');
  return fail(check, `bytes but no valid TIC frame from ${bus.port} (${heard.join('; ')})`, `wrong mode or speed (tic.mode: ${mode}), or noise: check the adapter is a TIC (7E1) interface and the cable`);
}

async function listenTic(path: string, baudRate: number, listenMs: number): Promise<{ bytes: number; frames: number; groups: number; checksumErrors: number }> {
  const { SerialPort } = await import('serialport');
  const { TicDecoder } = await import('../../drivers/serial/tic/index.js');
  const decoder = new TicDecoder();
  const port = new SerialPort({ path, baudRate, dataBits: 7, parity: 'even', stopBits: 1, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  let frames = 0;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, listenMs);
    port.on('data', (chunk: Buffer) => {
      for (const ev of decoder.push(chunk)) if (ev.type === 'frame' && ev.groups.length > 0 && ev.droppedGroups === 0) frames++;
      if (frames > 0) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await new Promise<void>((resolve) => port.close(() => resolve()));
  const s = decoder.stats();
  return { bytes: s.bytes, frames, groups: s.groups, checksumErrors: s.checksumErrors };
}
