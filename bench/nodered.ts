/**
 * `npm run bench -- nodered [seconds]`: what Node-RED and its bridge cost the gateway.
 *  (a) Memory: RSS of a Node-RED 4.1 child loading node-red-contrib-passerelle with the five example flows
 *      deployed and connected to the bridge, next to a bare Node-RED 4.1 (no extra nodes, no flows), same run.
 *  (b) On-demand read latency (p50) of one point through the bridge socket (the nodes' own client class)
 *      next to a direct demand read on a ModbusBus, both on the paced RTU simulator over a pty at 9600 baud.
 *  (c) Poll cycle period of a device polled every second (p95 of the intervals between cycle stamps),
 *      with a 10 Hz bridge reader on the same line over without.
 * Last line: {"bench":"nodered","childRssMB","rssOverBareNodeRed","readLatencyP50Ms","readLatencyOverDirect","pollJitterWithFlowsOverWithout"}.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { configSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/core/logger.js';
import type { Reading } from '../src/core/types.js';
import { Gateway } from '../src/gateway/gateway.js';
import { loadProfiles } from '../src/profiles/index.js';
import { ModbusBus } from '../src/bus/modbus-bus.js';
import { t35Ms } from '../src/drivers/modbus/wire-cost.js';
import { createPtyPair, type PtyPair } from '../src/sim/pty.js';
import { startModbusRtuSimulator, type ModbusRtuSimulator } from '../src/sim/modbus-rtu.js';
import { BridgeClient } from '../nodered/node-red-contrib-passerelle/src/client.js';
import { startNodeRed } from '../tests/helpers/node-red.js';
import { median, printResult, printTable, round3 } from './lib/report.js';

const profiles = loadProfiles();
const BAUD = 9600;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Line {
  pair: PtyPair;
  sim: ModbusRtuSimulator;
  close(): Promise<void>;
}

async function line(): Promise<Line> {
  const pair = await createPtyPair();
  const sim = await startModbusRtuSimulator({ path: pair.b, baud: BAUD, parity: 'none', dataBits: 8, stopBits: 1, devices: [{ unit: 1, profile: profiles.get('soil-dfrobot')! }] });
  return { pair, sim, close: async () => (await sim.close(), await pair.close()) };
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;

async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

function gatewayOn(dir: string, port: string, socketPath: string, poll: string, onReadings?: (r: readonly Reading[]) => void): Gateway {
  const config = configSchema.parse({
    site: { id: 'bench', name: 'Bench', clock: { trust: 'always' } },
    gateway: { id: 'gw' },
    buses: [{ id: 'line', type: 'serial', port, baud: BAUD, timeout: '1s', retries: 0 }],
    devices: [{ id: 'soil', bus: 'line', unit: 1, profile: 'soil-dfrobot', poll, points: ['moisture'] }],
    aggregation: { window: '1m' },
    store: { path: join(dir, `gw-${poll}.db`), keyFile: join(dir, 'gw.key'), commitInterval: '1m' },
  });
  const gateway = new Gateway({ config, profiles, logger: silentLogger(), bridge: { socketPath } });
  if (onReadings) {
    const ingest = gateway.ingest.bind(gateway);
    gateway.ingest = (readings) => (onReadings(readings), ingest(readings));
  }
  return gateway;
}

async function connected(path: string): Promise<BridgeClient> {
  const client = new BridgeClient(path, 10_000);
  client.start();
  while (client.state !== 'connected') await sleep(20);
  return client;
}

async function memory(dir: string, socketPath: string): Promise<{ ours: number; bare: number }> {
  const measure = async (name: string, withNodes: boolean) => {
    const userDir = join(dir, name);
    await import('node:fs/promises').then((fs) => fs.mkdir(userDir));
    const red = await startNodeRed({ dir: userDir, socketPath, nodesDir: withNodes ? undefined : null, stock: !withNodes });
    if (withNodes) {
      const byId = new Map<string, unknown>();
      for (const f of (await readdir('flows')).filter((x) => x.endsWith('.json')))
        for (const n of JSON.parse(await readFile(join('flows', f), 'utf8')) as { id: string }[]) byId.set(n.id, n);
      await red.deploy([...byId.values()]);
    }
    await sleep(8000);
    const rss = await rssMB(red.child.pid!);
    await red.stop();
    return rss;
  };
  return { bare: await measure('bare', false), ours: await measure('ours', true) };
}

async function latency(dir: string, n: number): Promise<{ direct: number; bridge: number }> {
  const direct: number[] = [];
  {
    const l = await line();
    const bus = new ModbusBus({ id: 'line', endpoint: { type: 'serial', port: l.pair.a, baud: BAUD, parity: 'none', dataBits: 8, stopBits: 1 }, timeoutMs: 1000, interFrameMs: t35Ms(BAUD), logger: silentLogger() });
    await bus.read(1, 3, 0, 1, { priority: 'demand' });
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await bus.read(1, 3, 0, 1, { priority: 'demand', retries: 0 });
      direct.push(performance.now() - t);
    }
    await bus.close();
    await l.close();
  }
  const viaBridge: number[] = [];
  {
    const l = await line();
    const socketPath = join(dir, 'lat.sock');
    const gateway = gatewayOn(dir, l.pair.a, socketPath, '1h'); // one cycle at start, then the line is the reader's
    await gateway.start();
    const client = await connected(socketPath);
    await client.request({ op: 'read', device: 'soil', point: 'moisture' });
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await client.request({ op: 'read', device: 'soil', point: 'moisture' });
      viaBridge.push(performance.now() - t);
    }
    client.stop();
    await gateway.stop();
    await l.close();
  }
  return { direct: median(direct), bridge: median(viaBridge) };
}

/** p95 interval between poll cycle stamps of a 1 s poll, and the p95 absolute deviation from 1 s. */
async function pollPeriod(dir: string, seconds: number, withFlow: boolean): Promise<{ p95: number; jitterMs: number; reads: number; busy: number }> {
  const l = await line();
  const socketPath = join(dir, `poll-${withFlow}.sock`);
  const stamps: number[] = [];
  const gateway = gatewayOn(dir, l.pair.a, socketPath, '1s', (rs) => rs.forEach((r) => r.point === 'moisture' && r.device === 'soil' && stamps.push(r.ts)));
  await gateway.start();
  let reads = 0;
  let busy = 0;
  let stop = false;
  let reader: Promise<void> | undefined;
  const client = withFlow ? await connected(socketPath) : undefined;
  if (client) {
    reader = (async () => {
      for (let next = performance.now(); !stop; next += 100) {
        await sleep(Math.max(0, next - performance.now()));
        client.request({ op: 'read', device: 'soil', point: 'moisture' }).then(() => reads++, (e: { code?: string }) => void (e.code === 'BUSY' && busy++));
      }
    })();
  }
  await sleep(seconds * 1000);
  stop = true;
  await reader;
  client?.stop();
  await gateway.stop();
  await l.close();
  const intervals = stamps.slice(2).map((t, i) => t - stamps[i + 1]!);
  return { p95: percentile(intervals, 0.95), jitterMs: percentile(intervals.map((d) => Math.abs(d - 1000)), 0.95), reads, busy };
}

export async function run(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 20);
  const dir = await mkdtemp(join(tmpdir(), 'passerelle-bench-nr-'));
  try {
    const lat = await latency(dir, 100);
    const without = await pollPeriod(dir, seconds, false);
    const withFlow = await pollPeriod(dir, seconds, true);
    const mem = await memory(dir, join(dir, 'none.sock'));
    printTable([
      { measure: 'Node-RED child RSS, MB (passerelle nodes + 5 example flows)', value: round3(mem.ours) },
      { measure: 'bare Node-RED 4.1 RSS, MB', value: round3(mem.bare) },
      { measure: 'read p50 through the bridge, ms', value: round3(lat.bridge) },
      { measure: 'read p50 direct on the ModbusBus, ms', value: round3(lat.direct) },
      { measure: 'poll period p95 without flow, ms', value: round3(without.p95) },
      { measure: 'poll period p95 with a 10 Hz bridge reader, ms', value: round3(withFlow.p95) },
      { measure: 'poll jitter p95 (|period - 1 s|) without / with, ms', value: `${round3(without.jitterMs)} / ${round3(withFlow.jitterMs)}` },
      { measure: 'bridge reads done / BUSY during the poll run', value: `${withFlow.reads} / ${withFlow.busy}` },
    ]);
    printResult('nodered', {
      childRssMB: round3(mem.ours),
      rssOverBareNodeRed: round3(mem.ours / mem.bare),
      readLatencyP50Ms: round3(lat.bridge),
      readLatencyOverDirect: round3(lat.bridge / lat.direct),
      pollJitterWithFlowsOverWithout: round3(withFlow.p95 / without.p95),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
