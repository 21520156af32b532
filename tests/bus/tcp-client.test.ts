/**
 * Our Modbus TCP client against a scripted peer on a real socket: for the faults the simulator cannot
 * produce (a reply dribbled byte by byte, a late reply glued to ours, a stream out of sync, a peer that
 * hangs up mid-transaction, nobody listening). The simulator's faults are in tcp-faults.test.ts.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { ModbusBus } from '../../src/bus/modbus-bus.js';
import { ModbusTcpClient } from '../../src/bus/tcp-client.js';
import { profileSchema } from '../../src/profiles/index.js';
import { startModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';

type Script = (request: Buffer, socket: Socket) => void;

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A peer on an ephemeral port that hands each request ADU to `script`. */
async function peer(script: Script): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => script(chunk, socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => (sockets.forEach((s) => s.destroy()), server.close(r))));
  return { port: (server.address() as { port: number }).port, connections: () => connections };
}

/** The reply ADU to a function 3 request for two registers, under the request's transaction id (or another). */
const reply = (request: Buffer, values: [number, number], transaction = request.readUInt16BE(0)): Buffer => {
  const b = Buffer.from([0, 0, 0, 0, 0, 7, request[6]!, 3, 4, 0, 0, 0, 0]);
  b.writeUInt16BE(transaction, 0);
  b.writeUInt16BE(values[0], 9);
  b.writeUInt16BE(values[1], 11);
  return b;
};

async function client(port: number): Promise<ModbusTcpClient> {
  const c = new ModbusTcpClient({ type: 'tcp', host: '127.0.0.1', port });
  closers.push(() => c.close());
  await c.connect(500);
  return c;
}

describe('ModbusTcpClient', () => {
  it('reads a reply that arrives one byte at a time', async () => {
    const { port } = await peer((req, s) => {
      const bytes = reply(req, [7, 8]);
      bytes.forEach((byte, i) => setTimeout(() => s.write(Buffer.from([byte])), i));
    });
    const c = await client(port);
    await expect(c.read(1, 3, 0, 2, 1000)).resolves.toEqual([7, 8]);
  });

  it('drops a late reply glued to ours in one chunk, and answers with ours', async () => {
    const { port } = await peer((req, s) => s.write(Buffer.concat([reply(req, [1, 1], req.readUInt16BE(0) - 1), reply(req, [5, 6])])));
    const c = await client(port);
    await expect(c.read(1, 3, 0, 2, 1000)).resolves.toEqual([5, 6]);
    await expect(c.read(1, 3, 0, 2, 1000)).resolves.toEqual([5, 6]);
  });

  it('times out (silence) when only a foreign transaction answers, then serves the next request', async () => {
    let n = 0;
    const { port } = await peer((req, s) => s.write(n++ === 0 ? reply(req, [1, 1], 0x7777) : reply(req, [3, 4])));
    const c = await client(port);
    const started = performance.now();
    await expect(c.read(1, 3, 0, 2, 150)).rejects.toMatchObject({ reason: 'timeout', detail: 'silence', timedOut: true });
    expect(performance.now() - started).toBeGreaterThanOrEqual(149);
    await expect(c.read(1, 3, 0, 2, 1000)).resolves.toEqual([3, 4]);
  });

  it('classifies a stream out of sync as garbled, drops the connection and reconnects through the bus', async () => {
    let n = 0;
    const peerState = await peer((req, s) => s.write(n++ === 0 ? Buffer.from([0, 1, 0, 0, 0xff, 0xff, 1, 3]) : reply(req, [9, 9])));
    const bus = new ModbusBus({ id: 't', endpoint: { type: 'tcp', host: '127.0.0.1', port: peerState.port }, timeoutMs: 500, logger: silentLogger() });
    closers.push(() => bus.close());
    await expect(bus.read(1, 3, 0, 2)).rejects.toMatchObject({ reason: 'frame', detail: 'garbled' });
    await expect(bus.read(1, 3, 0, 2)).resolves.toEqual([9, 9]);
    expect(peerState.connections()).toBe(2);
    expect(bus.stats().units[1]).toMatchObject({ requests: 2, ok: 1, garbled: 1 });
  });

  it('fails a transaction as disconnected when the peer hangs up, then reconnects', async () => {
    let n = 0;
    const { port } = await peer((req, s) => (n++ === 0 ? s.destroy() : s.write(reply(req, [1, 2]))));
    const bus = new ModbusBus({ id: 't', endpoint: { type: 'tcp', host: '127.0.0.1', port }, timeoutMs: 500, logger: silentLogger() });
    closers.push(() => bus.close());
    await expect(bus.read(1, 3, 0, 2)).rejects.toMatchObject({ reason: 'disconnected' });
    await expect(bus.read(1, 3, 0, 2)).resolves.toEqual([1, 2]);
    expect(bus.stats().units[1]).toMatchObject({ requests: 2, ok: 1, disconnected: 1 });
  });

  it('says which endpoint cannot be opened when nobody listens', async () => {
    const { port } = await peer(() => undefined);
    await new Promise((r) => setTimeout(r, 0));
    for (const c of closers.splice(0)) await c(); // the port is free again: nobody listens there
    const c = new ModbusTcpClient({ type: 'tcp', host: '127.0.0.1', port });
    await expect(c.connect(500)).rejects.toMatchObject({ reason: 'disconnected', message: expect.stringContaining(`127.0.0.1:${port}`) });
    expect(c.isOpen).toBe(false);
  });

  it('writes a register, registers and a coil to the simulator, and reads them back', async () => {
    const sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: thermostat }] });
    closers.push(() => sim.close());
    const c = await client(sim.port);
    await c.write(1, { fn: 6, address: 10, values: [215] }, 500);
    await c.write(1, { fn: 16, address: 12, values: [0x4000, 0] }, 500);
    await c.write(1, { fn: 5, address: 0, value: true }, 500);
    await expect(c.read(1, 3, 10, 4, 500)).resolves.toEqual([215, 0, 0x4000, 0]);
    await expect(c.read(1, 1, 0, 1, 500)).resolves.toEqual([1]);
    await expect(c.write(1, { fn: 6, address: 0x7ff0, values: [1] }, 500)).rejects.toMatchObject({ reason: 'exception', exceptionCode: 2 });
  });
});

const thermostat = profileSchema.parse({
  id: 'thermostat',
  manufacturer: 'Test',
  model: 'Thermostat',
  limits: { turnaroundMs: 0 },
  points: [
    { name: 'setpoint', kind: 'holding', address: 10, type: 'i16', scale: 0.1, class: 'comfort', sim: { base: 20 } },
    { name: 'limit', kind: 'holding', address: 12, type: 'f32', class: 'comfort', sim: { base: 1 } },
    { name: 'relay', kind: 'coil', address: 0, type: 'bool', class: 'status', sim: { base: 0 } },
  ],
});

describe('bus scheduling on the silence', () => {
  it('chooses the next job once the line is silent: a demand queued during the silence goes before a routine read queued earlier', async () => {
    const { port } = await peer((req, s) => s.write(reply(req, [1, 2])));
    const bus = new ModbusBus({ id: 't', endpoint: { type: 'tcp', host: '127.0.0.1', port }, timeoutMs: 500, interFrameMs: 300, logger: silentLogger() });
    closers.push(() => bus.close());
    await bus.read(1, 3, 0, 2);
    const order: string[] = [];
    const routine = bus.read(1, 3, 0, 2).then(() => order.push('routine'));
    await new Promise((r) => setTimeout(r, 20));
    const demand = bus.read(1, 3, 0, 2, { priority: 'demand' }).then(() => order.push('demand'));
    await Promise.all([routine, demand]);
    expect(order).toEqual(['demand', 'routine']);
  });
});
