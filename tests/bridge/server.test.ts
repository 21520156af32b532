/**
 * The bridge server's own bounds and refusals, over a real Unix socket. The host is a small in-test
 * implementation of the BridgeHost contract (the gateway's is exercised in node-red.test.ts).
 */
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PasserelleError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BridgeHost, BridgeListener } from '../../src/bridge/host.js';
import { startBridge, type Bridge, type BridgeLimits } from '../../src/bridge/server.js';

let dir: string;
let bridge: Bridge | undefined;
const sockets: Socket[] = [];
let listener: BridgeListener | undefined;
const taken: { device: string; point: string; value: number }[] = [];

const host: BridgeHost = {
  readRegisters: async () => [1, 2],
  readPoint: () => new Promise(() => undefined), // never answers: holds a request in flight
  writePoint: async (device, point) => {
    throw new PasserelleError('E_WRITE_NOT_ALLOWED', `${device}.${point} is not writable`);
  },
  virtualPoint: (device, point, value) => void taken.push({ device, point, value }),
  listen: (l) => {
    listener = l;
    return () => (listener = undefined);
  },
};

async function start(limits: Partial<BridgeLimits> = {}): Promise<string> {
  const socketPath = join(dir, 'b.sock');
  bridge = await startBridge({ socketPath, host, logger: silentLogger(), limits });
  return socketPath;
}

/** A client that collects every line it receives. */
async function client(path: string): Promise<{ socket: Socket; lines: Record<string, unknown>[]; send(m: unknown): void; next(n: number): Promise<Record<string, unknown>[]> }> {
  const socket = connect(path);
  sockets.push(socket);
  await new Promise((r) => socket.once('connect', r));
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  socket.on('data', (d: Buffer) => {
    const parts = (rest + d.toString()).split('\n');
    rest = parts.pop()!;
    for (const p of parts) lines.push(JSON.parse(p) as Record<string, unknown>);
  });
  return {
    socket,
    lines,
    send: (m) => socket.write(typeof m === 'string' ? m : `${JSON.stringify(m)}\n`),
    next: async (n) => {
      for (let i = 0; i < 100 && lines.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      return lines;
    },
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'passerelle-bridge-'));
  taken.length = 0;
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await bridge?.close();
  bridge = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('bridge server', () => {
  it('creates its socket 0660, replaces a stale one, and refuses to remove a file that is not a socket', async () => {
    const path = await start();
    expect(statSync(path).mode & 0o777).toBe(0o660);
    await bridge!.close();
    bridge = await startBridge({ socketPath: path, host, logger: silentLogger() }); // the old socket file is still there
    await bridge.close();
    bridge = undefined;
    const file = join(dir, 'not-a-socket');
    await writeFile(file, 'x');
    await expect(startBridge({ socketPath: file, host, logger: silentLogger() })).rejects.toMatchObject({ code: 'E_BRIDGE_PATH' });
  });

  it('answers each malformed, oversize or refused request with its code, and keeps the connection', async () => {
    const c = await client(await start({ maxFrameBytes: 256 }));
    c.send('not json\n');
    c.send(`${'x'.repeat(1000)}\n`);
    c.send({ id: 1, op: 'nope' });
    c.send({ id: 2, op: 'write', device: 'boiler', point: 'outdoor_temp', value: 1 });
    c.send({ id: 3, op: 'read-registers', bus: 'line', unit: 1, fn: 3, address: 0, count: 2 });
    const lines = await c.next(5);
    expect(lines.map((l) => l.code ?? l.values)).toEqual(['E_BRIDGE_FRAME', 'E_BRIDGE_TOO_LARGE', 'E_BRIDGE_REQUEST', 'E_WRITE_NOT_ALLOWED', [1, 2]]);
    expect(lines.slice(2).map((l) => l.id)).toEqual([1, 2, 3]);
  });

  it('answers BUSY at once beyond the requests a client may have waiting', async () => {
    const c = await client(await start({ maxInFlight: 2 }));
    for (let id = 1; id <= 3; id++) c.send({ id, op: 'read', device: 'soil', point: 'moisture' });
    expect(await c.next(1)).toEqual([expect.objectContaining({ id: 3, ok: false, code: 'BUSY' })]);
  });

  it('refuses a client beyond maxClients', async () => {
    const path = await start({ maxClients: 1 });
    await client(path);
    const second = await client(path);
    expect(await second.next(1)).toEqual([expect.objectContaining({ code: 'E_BRIDGE_CLIENTS' })]);
  });

  it('takes at most one value per virtual point per interval', async () => {
    const c = await client(await start({ minIntervalMs: 60_000 }));
    c.send({ id: 1, op: 'point', device: 'tree', point: 'alert', value: 1 });
    c.send({ id: 2, op: 'point', device: 'tree', point: 'alert', value: 0 });
    c.send({ id: 3, op: 'point', device: 'tree', point: 'other', value: 5 });
    const lines = await c.next(3);
    expect(lines.map((l) => (l.ok ? 'ok' : l.code))).toEqual(['ok', 'E_BRIDGE_RATE', 'ok']);
    expect(taken.map((t) => t.value)).toEqual([1, 5]);
  });

  it('sends subscribed readings that match, and disconnects a client that does not read', async () => {
    const c = await client(await start({ maxBacklogBytes: 4096 }));
    c.send({ id: 1, op: 'subscribe', match: ['soil.*'] });
    await c.next(1);
    listener!.readings([
      { device: 'soil', point: 'moisture', ts: 1, value: 30, quality: 'good' },
      { device: 'meter', point: 'power', ts: 1, value: 5, quality: 'good' },
    ]);
    const lines = await c.next(2);
    expect(lines[1]).toEqual({ event: 'reading', device: 'soil', point: 'moisture', ts: 1, value: 30, quality: 'good' });
    // A client that stops reading: the gateway never holds more than the bound for it.
    c.socket.pause();
    const big = Array.from({ length: 2000 }, (_, i) => ({ device: 'soil', point: 'moisture', ts: i, value: i, quality: 'good' as const }));
    for (let i = 0; i < 200 && bridge!.stats().slowDisconnects === 0; i++) {
      listener!.readings(big);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(bridge!.stats()).toMatchObject({ slowDisconnects: 1, clients: 0 });
  });
});
