/**
 * A config change restarts only what it changes (src/gateway/config-diff.ts), against real parts: two
 * Modbus TCP simulators (they count the connections they accept), a Linky TIC simulator on a socat pty,
 * a real encrypted store and a real Mosquitto. Then the trial probes the remote agent runs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { restartPlan } from '../../src/gateway/config-diff.js';
import { GatewayRuntime, type GatewayBaseline } from '../../src/gateway/remote.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startTicSimulator, type TicSimulator } from '../../src/sim/tic.js';
import { Store } from '../../src/store/store.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';

const profiles = loadProfiles();
let dir: string;
let sim1: ModbusTcpSimulator;
let sim2: ModbusTcpSimulator;
let pair: PtyPair;
let deadPair: PtyPair;
let tic: TicSimulator;
let broker: MosquittoBroker;
let runtime: GatewayRuntime;

function site(o: { allow?: string[]; lan2Timeout?: string; poll?: string; clientId?: string; ticPort?: string; window?: string } = {}): Config {
  return configSchema.parse({
    site: { id: 'test-site', name: 'Test', clock: { trust: 'always' } },
    gateway: { id: 'gw-0001' },
    buses: [
      { id: 'lan1', type: 'tcp', host: '127.0.0.1', port: sim1.port, timeout: '500ms', retries: 0 },
      { id: 'lan2', type: 'tcp', host: '127.0.0.1', port: sim2.port, timeout: o.lan2Timeout ?? '500ms', retries: 0 },
      { id: 'tic', type: 'serial', port: o.ticPort ?? pair.a, baud: 9600, dataBits: 7, parity: 'even' },
    ],
    devices: [
      { id: 'm1', bus: 'lan1', unit: 1, profile: 'eastron-sdm630', points: ['voltage_l1'], poll: '500ms' },
      { id: 'm2', bus: 'lan2', unit: 1, profile: 'eastron-sdm630', points: ['voltage_l1'], poll: o.poll ?? '500ms' },
      { id: 'linky', bus: 'tic', protocol: 'tic', tic: { mode: 'standard', labels: ['EAST', 'SINSTS'] } },
    ],
    aggregation: { window: o.window ?? '1m' },
    store: { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') },
    uplink: { broker: broker.url, ...(o.clientId ? { clientId: o.clientId } : {}) },
    policy: { allow: (o.allow ?? ['m1.*']).map((match) => ({ match, statistics: ['mean'] })) },
  });
}

const busStats = (id: string) => (runtime.running!.stats().buses as Record<string, { transactions: number; reconnects: number }>)[id]!;
const deviceStats = (id: string) => (runtime.running!.stats().devices as Record<string, Record<string, number>>)[id]!;
const connections = () => [sim1.connections(), sim2.connections()];

async function until(what: string, done: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every bus answered since the last start: lan1 and lan2 (Modbus replies) and tic (frames with good checksums). */
const allAnswered = () => until('every bus to answer', () => ['lan1', 'lan2', 'tic'].every((b) => b in runtime.baseline().buses));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-reconfigure-'));
  const device = { unit: 1, profile: profiles.get('eastron-sdm630')! };
  sim1 = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [device] });
  sim2 = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [device] });
  pair = await createPtyPair();
  deadPair = await createPtyPair(); // a serial port where no meter talks: the wrong ttyUSB
  tic = await startTicSimulator({ path: pair.b, mode: 'standard' });
  broker = await startMosquitto();
  runtime = new GatewayRuntime({ profiles, logger: silentLogger() });
  await runtime.run(site());
  await allAnswered();
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await tic?.stop();
  await pair?.close();
  await deadPair?.close();
  await sim1?.close();
  await sim2?.close();
  await broker?.close();
});

describe('restart plan (one diff of the old and new configs)', () => {
  it('names the parts: policy, uplink, the buses a device or line change touches; anything else is whole', () => {
    const a = site();
    expect(restartPlan(a, site(), () => true)).toEqual({ kind: 'none' });
    expect(restartPlan(a, site({ allow: ['m1.*', 'm2.*'] }), () => true)).toEqual({ kind: 'parts', policy: true, uplink: false, buses: [] });
    expect(restartPlan(a, site({ clientId: 'other' }), () => true)).toEqual({ kind: 'parts', policy: false, uplink: true, buses: [] });
    expect(restartPlan(a, site({ lan2Timeout: '600ms' }), () => true)).toEqual({ kind: 'parts', policy: false, uplink: false, buses: ['lan2'] });
    expect(restartPlan(a, site({ poll: '1s' }), () => false)).toMatchObject({ kind: 'full', why: 'the points seen by the pipeline changed' });
    expect(restartPlan(a, site({ window: '5m' }), () => true)).toMatchObject({ kind: 'full', why: 'aggregation changed' });
  });
});

describe('a config change on a running gateway', () => {
  it('a policy change swaps the policy: no bus reconnects, polling goes on, same store and uplink', async () => {
    const gateway = runtime.running;
    const before = connections();
    const tx = busStats('lan1').transactions;
    const linky = deviceStats('linky');
    await runtime.run(site({ allow: ['m1.*', 'm2.*'] }));
    expect(runtime.running).toBe(gateway);
    // Polling goes on on the same connections and the same serial port: the counters keep growing (a
    // restart starts them at 0) and the port was opened once.
    await until('more polls', () => busStats('lan1').transactions > tx + 2 && busStats('lan2').transactions > tx + 2);
    await until('more TIC bytes', () => deviceStats('linky').bytesIn! > linky.bytesIn!);
    expect(connections()).toEqual(before);
    expect(busStats('lan1').reconnects).toBe(0);
    expect(deviceStats('linky').opens).toBe(linky.opens);
    const trial = await runtime.probe(runtime.baseline(), Date.now() + 10_000);
    expect(trial).toEqual({ ok: true });
  }, 30_000);

  it('a device line change restarts that bus only', async () => {
    const gateway = runtime.running;
    const [c1, c2] = connections();
    const ticGood = runtime.running!.goodReadingsByBus().get('tic') ?? 0;
    await runtime.run(site({ allow: ['m1.*', 'm2.*'], lan2Timeout: '600ms' }));
    expect(runtime.running).toBe(gateway);
    await until('lan2 to reconnect', () => sim2.connections() > c2!);
    await until('TIC frames to keep coming', () => (runtime.running!.goodReadingsByBus().get('tic') ?? 0) > ticGood);
    expect(sim1.connections()).toBe(c1);
    expect(sim2.connections()).toBe(c2! + 1);
  }, 30_000);

  it('an uplink change restarts the uplink only', async () => {
    const gateway = runtime.running;
    const before = connections();
    await runtime.run(site({ allow: ['m1.*', 'm2.*'], lan2Timeout: '600ms', clientId: 'passerelle-renamed' }));
    expect(runtime.running).toBe(gateway);
    expect(await runtime.probe(runtime.baseline(), Date.now() + 10_000)).toEqual({ ok: true });
    expect(connections()).toEqual(before);
  }, 30_000);

  it('a change the pipeline sees (a poll interval) restarts the whole gateway', async () => {
    const gateway = runtime.running;
    const [c1, c2] = connections();
    await runtime.run(site({ allow: ['m1.*', 'm2.*'], lan2Timeout: '600ms', clientId: 'passerelle-renamed', poll: '1s' }));
    expect(runtime.running).not.toBe(gateway);
    await until('both buses to reconnect', () => sim1.connections() > c1! && sim2.connections() > c2!);
  }, 30_000);
});

describe('trial probes', () => {
  it('a TIC port where no frame arrives fails the trial (probe:bus:tic); the old port answers again', async () => {
    const good = site();
    await runtime.run(good);
    await allAnswered();
    const baseline: GatewayBaseline = runtime.baseline();
    expect(Object.keys(baseline.buses).sort()).toEqual(['lan1', 'lan2', 'tic']);
    await runtime.run(site({ ticPort: deadPair.a }));
    const failed = await runtime.probe(baseline, Date.now() + 3000);
    expect(failed).toMatchObject({ ok: false, reason: 'probe:bus:tic' });
    await runtime.run(good);
    // The baseline survives as JSON (persisted with the trial): the probe reads it back the same.
    expect(await runtime.probe(JSON.parse(JSON.stringify(baseline)), Date.now() + 10_000)).toEqual({ ok: true });
  }, 60_000);

  it('the store probe writes a canary through the store and reads it back', async () => {
    const from = Date.now();
    expect(await runtime.probe(runtime.baseline(), Date.now() + 10_000)).toEqual({ ok: true });
    const to = Date.now();
    await runtime.stop();
    const store = Store.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') });
    try {
      const canary = store.readCanary();
      expect(canary).toBeGreaterThanOrEqual(from);
      expect(canary).toBeLessThanOrEqual(to);
    } finally {
      store.close();
    }
    expect(await runtime.probe(runtime.baseline(), Date.now() + 1000)).toMatchObject({ ok: false, reason: 'probe:store' });
  }, 30_000);

  it('a probe added by another part (Node-RED) runs in every trial, with its baseline', async () => {
    await runtime.run(site());
    await allAnswered();
    const seen: unknown[] = [];
    runtime.addProbe('nodered', {
      baseline: () => ({ flows: 'sha256:abc' }),
      probe: async (b) => {
        seen.push(b);
        return { ok: false, reason: 'probe:nodered', detail: 'flows not deployed' };
      },
    });
    const baseline = runtime.baseline();
    expect(baseline.probes).toEqual({ nodered: { flows: 'sha256:abc' } });
    expect(await runtime.probe(baseline, Date.now() + 10_000)).toEqual({ ok: false, reason: 'probe:nodered', detail: 'flows not deployed' });
    expect(seen).toEqual([{ flows: 'sha256:abc' }]);
  }, 30_000);
});
