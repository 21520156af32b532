/**
 * The gateway as a user runs it, from one site config: a Linky (TIC standard, with line faults), an
 * SDI-12 soil probe and an ASCII thermometer, each on a real pty, summaries to Mosquitto.
 * Runs once src/gateway/build-drivers.ts builds the serial drivers (buildSerialDrivers); until the
 * lead wires that in, it is skipped and says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildDrivers } from '../../src/gateway/build-drivers.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadDriverModules } from '../../src/gateway/driver-modules.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { decodeSenml, resolveSenml } from '../../src/uplink/senml.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startTicSimulator, TIC_SIM_DEFAULT_METER_ID } from '../../src/sim/tic.js';
import { startSdi12Simulator } from '../../src/sim/sdi12.js';
import { startLineSimulator } from '../../src/sim/line.js';
import { startMosquitto } from '../helpers/brokers.js';
import { waitFor } from './helpers.js';

// The serial line drivers are imported on demand (a TCP-only gateway never loads them): these tests build them directly.
await loadDriverModules();

function site(dir: string, ports: { tic: string; sdi: string; line: string }, broker: string): Config {
  return configSchema.parse({
    site: { id: 'ecole', name: 'Ecole', clock: { trust: 'always' } },
    gateway: { id: 'gw' },
    buses: [
      { id: 'tic', type: 'serial', port: ports.tic, baud: 9600, dataBits: 7, parity: 'even' },
      { id: 'sdi', type: 'serial', port: ports.sdi, baud: 1200, dataBits: 7, parity: 'even' },
      { id: 'com', type: 'serial', port: ports.line },
    ],
    devices: [
      { id: 'linky', bus: 'tic', protocol: 'tic', tic: { labels: ['ADSC', 'EAST', 'SINSTS'] } },
      { id: 'soil', bus: 'sdi', protocol: 'sdi12', poll: '1s', sdi12: { address: '0', values: [{ name: 'moisture', unit: '%', class: 'environment' }, { name: 'temperature', unit: 'Cel', class: 'environment' }] } },
      { id: 'thermo', bus: 'com', protocol: 'line', line: { fields: { T: { unit: 'Cel', class: 'comfort' }, H: { unit: '%RH', class: 'comfort' } } } },
    ],
    aggregation: { window: '2s' },
    store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
    uplink: { broker },
    policy: { allow: [{ match: '*', statistics: ['count', 'mean', 'last', 'delta'] }] },
  });
}

const wired = buildDrivers(site('/tmp', { tic: '/dev/null', sdi: '/dev/null', line: '/dev/null' }, 'mqtt://127.0.0.1:1'), loadProfiles(), silentLogger()).drivers.length === 3;

describe.skipIf(!wired)('gateway with serial devices (needs buildSerialDrivers in build-drivers.ts)', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('publishes TIC, SDI-12 and line summaries, through faults, without the meter id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-serial-gw-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const pairs: PtyPair[] = await Promise.all([createPtyPair(), createPtyPair(), createPtyPair()]);
    for (const p of pairs) cleanups.push(() => p.close());
    const [ticPair, sdiPair, linePair] = pairs as [PtyPair, PtyPair, PtyPair];
    const tic = await startTicSimulator({ path: ticPair.b, mode: 'standard', faults: { noise: 0.3, cutFrames: 0.1, badChecksums: 0.05 } });
    const sdi = await startSdi12Simulator({ path: sdiPair.b, sensors: [{ address: '0', values: () => [31.5, 12.25], delaySeconds: 0 }] });
    const line = await startLineSimulator({ path: linePair.b, intervalMs: 200, values: () => ({ T: 21.5, H: 40 }) });
    cleanups.push(() => tic.stop(), () => sdi.stop(), () => line.stop());

    const subscriber = mqtt.connect(broker.url, { protocolVersion: 4 });
    cleanups.push(() => void subscriber.end(true));
    const payloads: Buffer[] = [];
    subscriber.on('message', (_t, p) => payloads.push(p));
    await subscriber.subscribeAsync('#', { qos: 1 });

    const gateway = new Gateway({ config: site(dir, { tic: ticPair.a, sdi: sdiPair.a, line: linePair.a }, broker.url), profiles: loadProfiles(), logger: silentLogger() });
    await gateway.start();
    cleanups.push(() => gateway.stop());

    const names = () => payloads.flatMap((p) => { try { return resolveSenml(decodeSenml(p, 'senml-json')); } catch { return []; } });
    await waitFor(() => ['linky/east/delta', 'soil/moisture/mean', 'thermo/T/mean'].every((n) => names().some((r) => r.n.endsWith(n))), 20_000, 'a summary of each device');
    expect(names().find((r) => r.n.endsWith('soil/moisture/mean'))?.v).toBe(31.5);
    expect(names().find((r) => r.n.endsWith('thermo/T/mean'))?.v).toBe(21.5);
    for (const p of payloads) expect(p.includes(TIC_SIM_DEFAULT_METER_ID)).toBe(false);
    const devices = (gateway.stats() as { devices: Record<string, Record<string, number>> }).devices;
    expect(devices.linky!.frames).toBeGreaterThan(0);
  }, 40_000);
});
