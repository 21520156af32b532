/**
 * The serial line drivers (TIC, SDI-12, line, M-Bus) are imported only for a config that has such a
 * device: with them come their option schemas (zod), the M-Bus profiles (yaml) and serialport, which stay
 * in memory for the life of the process once loaded. Construction of a Gateway is synchronous, so whoever
 * builds one from a config awaits `loadDriverModules(config)` first.
 */
import { isSerialProtocolDevice } from '../config/devices.js';
import type { Config } from '../config/schema.js';
import { PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { BuiltSerialDrivers } from '../drivers/serial/build.js';

type SerialDrivers = typeof import('../drivers/serial/build.js');
let serial: SerialDrivers | undefined;

/** Without a config, every driver module: a config pushed later (remote configuration) may name any device. */
export async function loadDriverModules(config?: Config): Promise<void> {
  if (!config || config.devices.some(isSerialProtocolDevice)) serial ??= await import('../drivers/serial/build.js');
}

/** The serial drivers of `config`; none without serial devices. */
export function serialDriversOf(config: Config, logger: Logger): BuiltSerialDrivers {
  if (!config.devices.some(isSerialProtocolDevice)) return { drivers: [], points: [], expectedPerWindow: new Map() };
  if (!serial) throw new PasserelleError('E_DRIVERS_NOT_LOADED', 'serial drivers used before loadDriverModules(config) (a bug)');
  return serial.buildSerialDrivers(config, logger);
}
