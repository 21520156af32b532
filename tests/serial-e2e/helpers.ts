import { configSchema, type BusConfig, type DeviceConfig } from '../../src/config/schema.js';
import type { Reading } from '../../src/core/types.js';

/** A validated serial bus config on a pty path (7E1 as TIC and SDI-12 use; a pty ignores it). */
export function serialBus(port: string, baud = 9600, id = 'line1'): BusConfig {
  return parseSite([{ id, type: 'serial', port, baud, dataBits: 7, parity: 'even' }], []).buses[0]!;
}

/** A validated device config: the schema's defaults and checks apply as for a site file. */
export function serialDevice<T extends DeviceConfig>(device: Record<string, unknown>, busId = 'line1'): T {
  return parseSite([{ id: busId, type: 'serial', port: '/dev/null' }], [{ bus: busId, ...device }]).devices[0] as T;
}

function parseSite(buses: unknown[], devices: unknown[]) {
  return configSchema.parse({
    site: { id: 's', name: 'S' },
    gateway: { id: 'g' },
    buses,
    devices,
    store: { path: '/tmp/unused.db', keyFile: '/tmp/unused.key' },
  });
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: string | (() => string) = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${typeof what === 'string' ? what : what()} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A sink that keeps every batch. */
export function collect(): { readings: Reading[]; sink: (batch: readonly Reading[]) => void } {
  const readings: Reading[] = [];
  return { readings, sink: (batch) => void readings.push(...batch) };
}

/** One counter of a driver's stats (0 when absent). */
export const stat = (driver: { stats(): Record<string, number> }, key: string): number => driver.stats()[key] ?? 0;
