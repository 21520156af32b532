/**
 * Node-RED beside a polling gateway, every part real (Modbus TCP simulator, gateway, encrypted store,
 * Node-RED child): `kill -9` of the child leaves no gap in polling and the flows come back by
 * themselves; a `while(true)` in a function node hangs Node-RED (until functionTimeout stops it) but not the gateway's polls. The
 * simulator stamps each request it answers: those stamps are the poll timestamps compared.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { FUNCTION_TIMEOUT_S } from '../../src/nodered/settings.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { freePort } from '../helpers/brokers.js';
import { api, flow, noderedConfig, setPassword, token, waitForEditor } from './helpers.js';

const POLL_MS = 250;
let dir: string;
let sim: ModbusTcpSimulator;
let gateway: Gateway;
let base: string;
const polls: number[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The longest interval between two polls in [from, to], and how many polls fell in it. */
function pollGaps(from: number, to: number): { maxGap: number; count: number } {
  const inside = polls.filter((t) => t >= from && t <= to);
  const edges = [from, ...inside, to];
  return { maxGap: Math.max(...edges.slice(1).map((t, i) => t - edges[i]!)), count: inside.length };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nr-gw-'));
  const profiles = loadProfiles();
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
  const bank = sim.banks.get(1)!;
  const read = bank.read.bind(bank);
  bank.read = (kind, address, count) => {
    polls.push(Date.now());
    return read(kind, address, count);
  };
  const nodered = noderedConfig(dir, await freePort());
  setPassword(nodered);
  const seed = join(dir, 'seed.json');
  writeFileSync(seed, JSON.stringify(flow([{ id: 'seeded', type: 'comment', name: 'a flow the technician made' }])));
  const config = configSchema.parse({
    site: { id: 'nr-site', name: 'Node-RED beside polling', clock: { trust: 'always' } },
    gateway: { id: 'gw-nr' },
    buses: [{ id: 'plant', type: 'tcp', host: '127.0.0.1', port: sim.port, timeout: '500ms' }],
    devices: [{ id: 'meter', bus: 'plant', unit: 1, profile: 'eastron-sdm630', poll: `${POLL_MS}ms`, points: ['power_total'] }],
    aggregation: { window: '10s' },
    store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
    nodered,
  });
  gateway = new Gateway({ config, profiles, logger: silentLogger(), noderedSeedFlows: seed });
  await gateway.start();
  base = gateway.noderedState()!.url;
  await waitForEditor(base);
}, 150_000);

afterAll(async () => {
  await gateway?.stop();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('Node-RED beside the gateway', () => {
  it('kill -9 of Node-RED: polling goes on without a gap, Node-RED and its flows come back by themselves', async () => {
    const first = gateway.noderedState()!.pid!;
    const killedAt = Date.now();
    process.kill(first, 'SIGKILL');
    await sleep(1000);
    expect(gateway.noderedState()!.pid).not.toBe(first);
    await waitForEditor(base);
    const { maxGap, count } = pollGaps(killedAt, Date.now());
    expect(count).toBeGreaterThan(0);
    expect(maxGap).toBeLessThan(4 * POLL_MS + 1000);
    expect(gateway.noderedState()).toMatchObject({ status: 'running', restarts: 1 });
    const flows = JSON.stringify(await (await api(base, 'flows', { token: await token(base) })).json());
    expect(flows).toContain('a flow the technician made');
  }, 150_000);

  it('a while(true) in a function node hangs Node-RED, not the polls, and is stopped after functionTimeout', async () => {
    const admin = await token(base);
    const loop = flow([
      { id: 'go', type: 'inject', once: true, onceDelay: 0.5, repeat: '', payload: '', payloadType: 'date', wires: [['spin']] },
      { id: 'spin', type: 'function', func: 'while (true) {}\nreturn msg;', outputs: 1 },
    ]);
    expect((await api(base, 'flows', { method: 'POST', token: admin, body: loop })).ok).toBe(true);
    await sleep(1500);
    // Node-RED no longer answers at all...
    await expect(fetch(`${base}auth/login`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    // ...while the gateway polls on schedule.
    const from = Date.now();
    await sleep(3000);
    const { maxGap, count } = pollGaps(from, Date.now());
    expect(count).toBeGreaterThanOrEqual(3000 / POLL_MS / 2);
    expect(maxGap).toBeLessThan(4 * POLL_MS + 1000);
    // The vm timeout stops the loop: Node-RED answers again by itself, without a restart.
    const pid = gateway.noderedState()!.pid;
    await waitForEditor(base, (FUNCTION_TIMEOUT_S + 15) * 1000);
    expect(gateway.noderedState()).toMatchObject({ status: 'running', pid });
  }, 60_000);
});
