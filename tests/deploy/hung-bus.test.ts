/**
 * The watchdog's hung-bus check: a bus reports how long its current job has run, so the gateway can
 * withhold the watchdog ping when one request outlives its timeouts. A client whose read never settles
 * is a fault no real peer produces (timeouts end every real request): injected.
 */
import { describe, expect, it } from 'vitest';
import { ModbusBus } from '../../src/bus/modbus-bus.js';
import type { ModbusClient } from '../../src/bus/modbus-client.js';
import { silentLogger } from '../../src/core/logger.js';

function busWith(read: () => Promise<number[]>): ModbusBus {
  const client = { isOpen: true, lastByteAt: undefined, connect: async () => undefined, close: async () => undefined, read } as unknown as ModbusClient;
  return new ModbusBus({ id: 'rs485', endpoint: { type: 'tcp', host: '127.0.0.1', port: 1 }, timeoutMs: 100, logger: silentLogger(), clientFactory: () => client });
}

describe('bus busy time', () => {
  it('is 0 when idle, grows while a request hangs', async () => {
    const bus = busWith(() => new Promise<number[]>(() => undefined));
    expect(bus.busyForMs()).toBe(0);
    void bus.read(1, 3, 0, 1).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    const now = performance.now();
    expect(bus.busyForMs(now)).toBeGreaterThan(0);
    expect(bus.busyForMs(now + 60_000)).toBeGreaterThan(60_000);
  });

  it('goes back to 0 once the request settles', async () => {
    const bus = busWith(async () => [7]);
    expect(await bus.read(1, 3, 0, 1)).toEqual([7]);
    expect(bus.busyForMs()).toBe(0);
  });
});
