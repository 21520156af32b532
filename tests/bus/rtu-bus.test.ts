/**
 * ModbusBus over a real pty pair (socat) to the RTU simulator: values, fault classification per unit,
 * retries, the line's silence, priorities, the queue bound, and serial open errors.
 */
import { performance } from 'node:perf_hooks';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { ModbusBus } from '../../src/bus/modbus-bus.js';
import { ModbusClient, type Endpoint } from '../../src/bus/modbus-client.js';
import { describeSerialOpenError } from '../../src/bus/serial-errors.js';
import type { UnitStats } from '../../src/bus/unit-stats.js';
import { decodePoint, registersFor } from '../../src/drivers/modbus/codec.js';
import { t35Ms } from '../../src/drivers/modbus/wire-cost.js';
import { getProfile } from '../../src/profiles/index.js';
import type { Fault } from '../../src/sim/faults.js';
import { rtuLine, type RtuLine } from './rtu-line.js';

const sdm630 = getProfile('eastron-sdm630');
const soil = getProfile('soil-dfrobot');
let line: RtuLine | undefined;

afterEach(async () => {
  await line?.close();
  line = undefined;
});

/** The outcomes of a unit add up to its requests (each transaction ends in exactly one). */
function outcomes(s: UnitStats): number {
  return s.ok + s.crc + s.silence + s.short + s.garbled + s.disconnected + Object.values(s.exceptions).reduce((a, b) => a + b, 0);
}

describe('RTU bus to the simulator over a pty', () => {
  it('decodes what the simulated devices served, several units on one line', async () => {
    line = await rtuLine([{ unit: 1, profile: sdm630 }, { unit: 2, profile: soil }]);
    const words = await line.bus.read(1, 4, 0, 18);
    const meter = line.sim.banks.get(1)!;
    for (const p of sdm630.points.filter((x) => x.address < 18)) {
      expect(decodePoint(words.slice(p.address, p.address + registersFor(p.type)), p).value).toBeCloseTo(meter.lastServed(p.name)!.value!, 5);
    }
    const probe = await line.bus.read(2, 3, 0, 3);
    soil.points.forEach((p, i) => expect(decodePoint([probe[i]!], p).value).toBe(line!.sim.banks.get(2)!.lastServed(p.name)!.value));
    expect(line.bus.stats().units[1]).toMatchObject({ requests: 1, ok: 1 });
    expect(line.sim.stats().functionCodes).toEqual({ 3: 1, 4: 1 });
  });

  const faultCases: [Fault, Partial<UnitStats>, string][] = [
    [{ kind: 'silent' }, { silence: 2, timeouts: 2, retries: 1 }, 'timeout'],
    [{ kind: 'slow', delayMs: 700 }, { silence: 2, timeouts: 2, retries: 1 }, 'timeout'],
    [{ kind: 'bad-crc' }, { crc: 2, timeouts: 0, retries: 1 }, 'crc'],
    [{ kind: 'garbage' }, { garbled: 2, timeouts: 2, retries: 1 }, 'frame'],
    [{ kind: 'short' }, { short: 2, timeouts: 2, retries: 1 }, 'frame'],
    [{ kind: 'exception', code: 4 }, { exceptions: { 4: 1 }, retries: 0 }, 'exception'],
  ];

  it.each(faultCases)('counts %o under the right reason, for that unit only', async (fault, counted, reason) => {
    line = await rtuLine([{ unit: 1, profile: soil }, { unit: 2, profile: soil }], { baud: 38400, timeoutMs: 300, retries: 1 });
    line.sim.faults.set(2, fault);
    await expect(line.bus.read(2, 3, 0, 3)).rejects.toMatchObject({ reason });
    // A healthy neighbour is unaffected, even by a slow device's late reply.
    await new Promise((r) => setTimeout(r, fault.kind === 'slow' ? 500 : 0));
    await expect(line.bus.read(1, 3, 0, 3)).resolves.toHaveLength(3);
    const stats = line.bus.stats();
    expect(stats.units[2]).toMatchObject(counted);
    expect(outcomes(stats.units[2]!)).toBe(stats.units[2]!.requests);
    expect(stats.units[1]).toMatchObject({ requests: 1, ok: 1, silence: 0, crc: 0 });
  });

  it('a device that drops out is silent, then answers again by itself', async () => {
    line = await rtuLine([{ unit: 3, profile: soil }], { baud: 38400, timeoutMs: 100 });
    line.sim.faults.set(3, { kind: 'dropout', forMs: 400 });
    await expect(line.bus.read(3, 3, 0, 1)).rejects.toMatchObject({ reason: 'timeout' });
    await new Promise((r) => setTimeout(r, 400));
    await expect(line.bus.read(3, 3, 0, 1)).resolves.toHaveLength(1);
    expect(line.bus.stats().units[3]).toMatchObject({ requests: 2, ok: 1, silence: 1 });
  });

  it('keeps the t3.5 silence between the end of one transaction and the next request', async () => {
    const baud = 9600;
    const spans: [number, number][] = [];
    const clientFactory = (e: Endpoint) => {
      const c = new ModbusClient(e);
      const read = c.read.bind(c);
      c.read = async (...args) => {
        const start = performance.now();
        try {
          return await read(...args);
        } finally {
          spans.push([start, c.lastByteAt!]); // the reply's last byte: the silence counts from there
        }
      };
      return c;
    };
    line = await rtuLine([{ unit: 1, profile: { ...soil, limits: { ...soil.limits, turnaroundMs: 0 } } }], { baud, clientFactory });
    await Promise.all(Array.from({ length: 8 }, () => line!.bus.read(1, 3, 0, 1)));
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0] - spans[i - 1]![1]).toBeGreaterThanOrEqual(t35Ms(baud) - 0.05);
  });
});

describe('RTU bus scheduling', () => {
  it('runs on-demand requests before routine ones without starving the routine ones', async () => {
    const fast = { ...soil, limits: { ...soil.limits, turnaroundMs: 0 } };
    line = await rtuLine([{ unit: 1, profile: fast }], { baud: 115200, paced: false });
    await line.bus.read(1, 3, 0, 1); // opens the port
    const order: string[] = [];
    const jobs = [
      ...Array.from({ length: 6 }, (_, i) => line!.bus.read(1, 3, 0, 1).then(() => order.push(`r${i}`))),
      ...Array.from({ length: 10 }, (_, i) => line!.bus.read(1, 3, 0, 1, { priority: 'demand' }).then(() => order.push(`d${i}`))),
    ];
    await Promise.all(jobs);
    // All were queued before the line was free: demand first, but one routine after every 4 demands.
    expect(order).toEqual(['d0', 'd1', 'd2', 'd3', 'r0', 'd4', 'd5', 'd6', 'd7', 'r1', 'd8', 'd9', 'r2', 'r3', 'r4', 'r5']);
  });

  it('refuses requests beyond the queue bound, and counts every refusal', async () => {
    line = await rtuLine([{ unit: 1, profile: soil }], { baud: 115200, paced: false, maxQueue: 2 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => line!.bus.read(1, 3, 0, 1)));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(3); // one on the line, two waiting
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'E_BUS_QUEUE_FULL' });
    expect(line.bus.stats()).toMatchObject({ overflow: 3, transactions: 3 });
  });
});

describe('paced simulator timing', () => {
  it('one transaction lasts at least its wire time at 9600 baud', async () => {
    const baud = 9600;
    line = await rtuLine([{ unit: 1, profile: sdm630 }], { baud });
    await line.bus.read(1, 4, 0, 2); // port open
    const count = 40;
    const started = performance.now();
    await line.bus.read(1, 4, 0, count);
    const measured = performance.now() - started;
    const char = (11 * 1000) / baud;
    const wire = 8 * char + t35Ms(baud) + sdm630.limits.turnaroundMs + (5 + 2 * count) * char;
    expect(measured).toBeGreaterThanOrEqual(0.9 * wire);
    expect(measured).toBeLessThan(2 * wire);
  });
});

describe('serial open errors', () => {
  const busOn = (port: string) =>
    new ModbusBus({ id: 'x', endpoint: { type: 'serial', port, baud: 9600, parity: 'none', dataBits: 8, stopBits: 1 }, timeoutMs: 100, logger: silentLogger() });

  it('names a missing adapter', async () => {
    const bus = busOn('/dev/ttyUSB-passerelle-missing');
    const err = await bus.read(1, 3, 0, 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_SERIAL_NOT_FOUND', reason: 'disconnected' });
    expect((err as Error).message).toContain('is the USB adapter plugged in? (ls /dev/serial/by-id)');
    expect(bus.stats().units[1]).toMatchObject({ unavailable: 1, requests: 0 });
    await bus.close();
  });

  it('names a port another program holds', async () => {
    line = await rtuLine([{ unit: 1, profile: soil }]);
    const holder = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: line!.pair.a, baudRate: 9600 }, (e) => (e ? reject(e) : resolve(p)));
    });
    const err = await line.bus.read(1, 3, 0, 1).catch((e: unknown) => e);
    await new Promise((r) => holder.close(r));
    expect(err).toMatchObject({ code: 'E_SERIAL_BUSY' });
  });

  it('tells a technician how to fix a permission problem', () => {
    const p = describeSerialOpenError('/dev/ttyUSB0', new Error('Error: Permission denied, cannot open /dev/ttyUSB0'));
    expect(p.code).toBe('E_SERIAL_PERMISSION');
    expect(p.message).toContain('sudo usermod -aG dialout $USER, then log in again');
    expect(describeSerialOpenError('/dev/x', Object.assign(new Error('x'), { code: 'EACCES' })).code).toBe('E_SERIAL_PERMISSION');
    expect(describeSerialOpenError('/dev/x', new Error('Something else')).code).toBe('E_SERIAL_OPEN');
  });
});
