/**
 * The whole path, every part real: Modbus TCP simulator -> poller -> pipeline -> encrypted store ->
 * a real broker (aedes and Mosquitto) -> a subscriber that decodes the SenML and checks the values
 * against what the simulator served in that window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { decodeSenml, resolveSenml, type ResolvedSenmlRecord } from '../../src/uplink/senml.js';
import { Store } from '../../src/store/store.js';
import { brokers, type TestBroker } from '../helpers/brokers.js';

const profiles = loadProfiles();
const WINDOW_MS = 2000;

interface ServedLog {
  [point: string]: { value: number; atMs: number }[];
}

/** Records every value the simulator serves, by wrapping its register bank's read. */
function recordServed(sim: ModbusTcpSimulator, unit: number, points: string[]): ServedLog {
  const bank = sim.banks.get(unit)!;
  const log: ServedLog = Object.fromEntries(points.map((p) => [p, []]));
  const read = bank.read.bind(bank);
  bank.read = (kind, address, count) => {
    const result = read(kind, address, count);
    for (const p of points) {
      const served = bank.lastServed(p);
      const list = log[p]!;
      if (served && served.value !== null && list.at(-1)?.atMs !== served.atMs) list.push({ value: served.value, atMs: served.atMs });
    }
    return result;
  };
  return log;
}

function siteConfig(dir: string, simPort: number, brokerUrl: string, format: 'senml-json' | 'senml-cbor'): Config {
  return configSchema.parse({
    site: { id: 'it-site', name: 'Integration', timezone: 'Europe/Paris', clock: { trust: 'always' } },
    gateway: { id: 'gw-it' },
    buses: [{ id: 'plant', type: 'tcp', host: '127.0.0.1', port: simPort, timeout: '500ms' }],
    devices: [{ id: 'meter', bus: 'plant', unit: 1, profile: 'eastron-sdm630', poll: '500ms', points: ['voltage_l1', 'power_total', 'energy_import'] }],
    aggregation: { window: '2s' },
    store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
    uplink: { broker: brokerUrl, format },
    policy: {
      allow: [
        { match: 'meter.power_total', statistics: ['min', 'max', 'mean', 'last', 'count'] },
        { match: 'meter.energy_import', statistics: ['delta'] },
      ],
    },
  });
}

const value = (records: ResolvedSenmlRecord[], suffix: string) => records.find((r) => r.n.endsWith(suffix))?.v;

describe.each(brokers)('device to broker through %s', (_name, startBroker) => {
  let dir: string;
  let broker: TestBroker;
  let sim: ModbusTcpSimulator;
  let gateway: Gateway | undefined;
  let subscriber: mqtt.MqttClient | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-it-'));
    broker = await startBroker();
    sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
  });

  afterEach(async () => {
    await gateway?.stop();
    subscriber?.end(true);
    await sim.close();
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['senml-json', 'senml-cbor'] as const)('publishes %s summaries whose values are what the simulator served', async (format) => {
    const served = recordServed(sim, 1, ['power_total', 'voltage_l1']);
    const config = siteConfig(dir, sim.port, broker.url, format);
    subscriber = mqtt.connect(broker.url, { protocolVersion: 4 });
    const messages: Buffer[] = [];
    subscriber.on('message', (_t, payload) => messages.push(payload));
    await subscriber.subscribeAsync('passerelle/it-site/gw-it/summary', { qos: 1 });

    gateway = new Gateway({ config, profiles, logger: silentLogger() });
    await gateway.start();
    await waitFor(() => messages.length >= 2, 10_000);

    // The second message: a full window (the first may have started mid-window).
    const records = resolveSenml(decodeSenml(messages[1]!, format));
    const end = records[0]!.t * 1000;
    const start = value(records, 'window-start')! * 1000;
    expect(end - start).toBe(WINDOW_MS);
    const inWindow = served.power_total!.filter((s) => s.atMs >= start && s.atMs < end).map((s) => s.value);
    expect(inWindow.length).toBeGreaterThanOrEqual(3);
    expect(value(records, 'meter/power_total/count')).toBe(inWindow.length);
    expectSenmlValue(value(records, 'meter/power_total/min'), Math.min(...inWindow));
    expectSenmlValue(value(records, 'meter/power_total/max'), Math.max(...inWindow));
    expectSenmlValue(value(records, 'meter/power_total/mean'), inWindow.reduce((a, b) => a + b, 0) / inWindow.length);
    expectSenmlValue(value(records, 'meter/power_total/last'), inWindow.at(-1)!);
    expect(records.find((r) => r.n.endsWith('meter/power_total/mean'))?.u).toBe('W');
    // The policy keeps voltage local: neither its name nor any voltage value goes upstream.
    expect(records.some((r) => r.n.includes('voltage_l1'))).toBe(false);
    expect(value(records, 'meter/energy_import/delta')).toBeGreaterThanOrEqual(0);

    // The outbox empties once the broker acknowledged; raw readings stay in the store.
    await waitFor(() => (gateway!.stats().outbox as number) === 0, 5000);
    await gateway.stop();
    gateway = undefined;
    const store = Store.open({ path: config.store.path, keyFile: config.store.keyFile });
    try {
      expect(store.readingCount()).toBeGreaterThanOrEqual(served.power_total!.length * 3 - 3);
    } finally {
      store.close();
    }
  });
});

/**
 * A statistic leaves with 7 significant digits (senml-build.ts): within half a unit of the 7th digit of the
 * value served, bounds included (7960.1875 leaves as 7960.188, 0.0005 away: toBeCloseTo(_, 3) refused it).
 */
function expectSenmlValue(sent: number | undefined, served: number): void {
  expect(sent).toBeTypeOf('number');
  const halfUnit = 0.5 * 10 ** (Math.floor(Math.log10(Math.abs(served))) - 6);
  expect(Math.abs(sent! - served), `${sent} for ${served}`).toBeLessThanOrEqual(halfUnit * (1 + 1e-9));
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
