/**
 * READY (systemd) waits for every Modbus device's first poll cycle. A line restarted by a config change
 * before its device's first cycle ended must not hold READY back forever: its successor's first cycle
 * counts instead. Real parts: a Modbus TCP simulator (silent, then answering) and Mosquitto.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { GatewayRuntime } from '../../src/gateway/remote.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';

const profiles = loadProfiles();
let dir: string;
let sim: ModbusTcpSimulator;
let broker: MosquittoBroker;
let runtime: GatewayRuntime;

function site(timeout: string): Config {
  return configSchema.parse({
    site: { id: 'test-site', name: 'Test', clock: { trust: 'always' } },
    gateway: { id: 'gw-0001' },
    buses: [{ id: 'lan', type: 'tcp', host: '127.0.0.1', port: sim.port, timeout, retries: 0 }],
    devices: [{ id: 'meter', bus: 'lan', unit: 1, profile: 'eastron-sdm630', points: ['voltage_l1'], poll: '1s' }],
    aggregation: { window: '1m' },
    store: { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') },
    uplink: { broker: broker.url },
    policy: { allow: [{ match: 'meter.*', statistics: ['mean'] }] },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-first-cycle-'));
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
  broker = await startMosquitto();
  runtime = new GatewayRuntime({ profiles, logger: silentLogger() });
});

afterAll(async () => {
  await runtime?.stop();
  await sim?.close();
  await broker?.close();
});

it('a line restarted before its first cycle ended: the first cycle is that of the line running now', async () => {
  sim.faults.set(1, { kind: 'silent' });
  await runtime.run(site('900ms')); // the first read waits for an answer that never comes
  const gateway = runtime.running!;
  const ready = gateway.firstCycle().then(() => 'first cycle');
  sim.faults.clear(1);
  await runtime.run(site('800ms')); // a line change: that line alone restarts, in the same gateway
  expect(runtime.running).toBe(gateway);
  const outcome = await Promise.race([ready, new Promise((r) => setTimeout(() => r('still waiting after 10 s'), 10_000))]);
  expect(outcome).toBe('first cycle');
}, 30_000);
