/**
 * What leaves the building, on the wire: a real Gateway polls a Modbus TCP simulator and publishes to
 * mosquitto through a TCP proxy that records every byte, both directions. Then the capture is searched
 * for the identifier's value and for every raw value of a point the policy keeps local, as text and in
 * every binary encoding a JSON, CBOR or Modbus stream could carry them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { decodeSenml, resolveSenml, type SenmlFormat } from '../../src/uplink/senml.js';
import { connect } from 'mqtt';
import { startMosquitto } from '../helpers/brokers.js';
import { startTcpProxy } from './tcp-proxy.js';

const profiles = loadProfiles(join(dirname(fileURLToPath(import.meta.url)), '../fixtures/profiles'));
const SERIAL = 48_151_623;

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Every value the simulator served for these points, by wrapping its register bank's read. */
function recordServed(sim: ModbusTcpSimulator, points: string[]): Map<string, number[]> {
  const bank = sim.banks.get(1)!;
  const served = new Map(points.map((p) => [p, [] as number[]]));
  const read = bank.read.bind(bank);
  bank.read = (kind, address, count) => {
    const result = read(kind, address, count);
    for (const p of points) {
      const v = bank.lastServed(p)?.value;
      if (typeof v === 'number' && served.get(p)!.at(-1) !== v) served.get(p)!.push(v);
    }
    return result;
  };
  return served;
}

/** The byte patterns a number could take in a JSON, CBOR or Modbus stream. */
function encodingsOf(value: number): Buffer[] {
  const f64 = Buffer.alloc(8);
  f64.writeDoubleBE(value);
  const f32 = Buffer.alloc(4);
  f32.writeFloatBE(value);
  const out = [Buffer.from(JSON.stringify(value)), f64, Buffer.from(f64).swap64()];
  if (Math.fround(value) === value) out.push(f32, Buffer.from(f32).swap32());
  if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) {
    const u32 = Buffer.alloc(4);
    u32.writeUInt32BE(value);
    out.push(u32, Buffer.from(u32).swap32(), Buffer.from(String(value.toString(16))));
  }
  return out;
}

function siteConfig(dir: string, simPort: number, brokerUrl: string, format: SenmlFormat) {
  return configSchema.parse({
    site: { id: 'leak-site', name: 'Leak test', timezone: 'Europe/Paris', clock: { trust: 'always' } },
    gateway: { id: 'gw-leak' },
    buses: [{ id: 'plant', type: 'tcp', host: '127.0.0.1', port: simPort, timeout: '500ms' }],
    devices: [{ id: 'probe', bus: 'plant', unit: 1, profile: 'leak-probe', poll: '200ms' }],
    aggregation: { window: '1s' },
    store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
    uplink: { broker: brokerUrl, format },
    policy: {
      allow: [
        { match: 'probe.power', statistics: ['mean'] },
        // Even allowed explicitly, an identifier never leaves.
        { match: 'probe.serial_number', statistics: ['last', 'min', 'max', 'mean'] },
        { match: 'probe.people', statistics: ['min', 'max', 'mean', 'last'] },
      ],
      minCount: { occupancy: 5 },
    },
  });
}

describe.each(['senml-json', 'senml-cbor'] as const)('broker traffic of a real gateway (%s)', (format) => {
  it('carries no identifier and no raw value of a point the policy keeps local', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-leak-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const proxy = await startTcpProxy(broker.port);
    cleanups.push(() => proxy.close());
    const sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('leak-probe')! }] });
    cleanups.push(() => sim.close());
    const served = recordServed(sim, ['voltage', 'serial_number', 'power', 'people']);
    const subscriber = connect(broker.url, { protocolVersion: 4, reconnectPeriod: 0 });
    cleanups.push(() => subscriber.endAsync(true));
    const received: Buffer[] = [];
    subscriber.on('message', (_t, payload) => received.push(payload));
    await subscriber.subscribeAsync('passerelle/leak-site/gw-leak/summary', { qos: 1 });

    const gateway = new Gateway({ config: siteConfig(dir, sim.port, proxy.url, format), profiles, logger: silentLogger() });
    let summaries = 0;
    await gateway.start();
    const stopGateway = (): Promise<void> => gateway.stop();
    cleanups.push(stopGateway);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (summaries = (gateway.stats().uplink as { published: number } | undefined)?.published ?? 0) < 3) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await gateway.stop();
    expect(summaries).toBeGreaterThanOrEqual(3);
    expect(received.length).toBeGreaterThanOrEqual(summaries);

    const wire = Buffer.concat(proxy.captured);
    expect(served.get('serial_number')).toEqual([SERIAL]);
    expect(served.get('voltage')!.length).toBeGreaterThanOrEqual(10);
    for (const pattern of encodingsOf(SERIAL)) expect(wire.includes(pattern), `serial as ${pattern.toString('hex')}`).toBe(false);
    expect(wire.includes('serial_number')).toBe(false);
    expect(wire.includes('voltage')).toBe(false);
    for (const v of served.get('voltage')!) {
      for (const pattern of encodingsOf(v)) {
        // Short texts ("231") could occur by chance in any binary stream; their exact float forms cannot.
        if (pattern.length >= 4) expect(wire.includes(pattern), `voltage ${v} as ${pattern.toString('hex')}`).toBe(false);
      }
    }

    // The occupancy point is there (quality figures) but none of its values, all below the threshold.
    const records = received.flatMap((p) => resolveSenml(decodeSenml(p, format)).map((r) => r.n));
    expect(records.some((n) => n.endsWith('probe/people/count'))).toBe(true);
    expect(records.filter((n) => /probe\/people\/(min|max|mean|last)$/.test(n))).toEqual([]);
    expect(records.some((n) => n.endsWith('probe/power/mean'))).toBe(true);
    expect(served.get('people')!.every((v) => v < 5)).toBe(true);
  }, 30_000);
});
