/** Each fault of the TCP simulator, seen through a ModbusBus: the reason a driver marks readings with. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { ModbusBus } from '../../src/bus/modbus-bus.js';
import { getProfile } from '../../src/profiles/index.js';
import type { Fault } from '../../src/sim/faults.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';

let sim: ModbusTcpSimulator;
let bus: ModbusBus;

beforeAll(async () => {
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [1, 2, 3, 4, 5, 6, 7].map((unit) => ({ unit, profile: getProfile('soil-dfrobot') })) });
  bus = new ModbusBus({ id: 'tcp', endpoint: { type: 'tcp', host: '127.0.0.1', port: sim.port }, timeoutMs: 150, logger: silentLogger() });
});
afterAll(async () => {
  await bus.close();
  await sim.close();
});

describe('TCP simulator faults through the bus', () => {
  it.each([
    [1, { kind: 'silent' }, 'timeout', 'silence'],
    [2, { kind: 'bad-crc' }, 'timeout', 'silence'], // a reply under a foreign transaction id is dropped
    [3, { kind: 'garbage' }, 'frame', 'garbled'],
    [4, { kind: 'short' }, 'frame', 'short'],
    [5, { kind: 'exception', code: 3 }, 'exception', undefined],
    [6, { kind: 'slow', delayMs: 300 }, 'timeout', 'silence'],
  ] as [number, Fault, string, string | undefined][])('unit %i, %o: %s', async (unit, fault, reason, detail) => {
    sim.faults.set(unit, fault);
    await expect(bus.read(unit, 3, 0, 3)).rejects.toMatchObject({ reason, detail });
    await expect(bus.read(7, 3, 0, 3)).resolves.toHaveLength(3); // the stream stays in sync
    sim.faults.clear(unit);
    await new Promise((r) => setTimeout(r, fault.kind === 'slow' ? 350 : 0));
    await expect(bus.read(unit, 3, 0, 3)).resolves.toHaveLength(3);
  });
});
