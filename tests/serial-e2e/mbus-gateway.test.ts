/**
 * The gateway as a user runs it, every part real: two simulated M-Bus meters on one pty (a Kamstrup
 * heat meter at primary address 5, an Itron Cyble water meter by its secondary address) -> MbusBus ->
 * pipeline -> encrypted store -> Mosquitto. Values upstream must be what the simulator served, and no
 * identifier (fabrication number, customer id) may reach the broker although the policy allows all.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadDriverModules } from '../../src/gateway/driver-modules.js';
import { getMbusProfile, loadProfiles } from '../../src/profiles/index.js';
import { decodeSenml, resolveSenml } from '../../src/uplink/senml.js';
import { createPtyPair } from '../../src/sim/pty.js';
import { startMbusSimulator } from '../../src/sim/mbus.js';
import { startMosquitto } from '../helpers/brokers.js';
import { waitFor } from './helpers.js';

describe('M-Bus meters to broker through the gateway', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('publishes the heat and water meters values as served, never their identifiers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-mbus-gw-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const sim = await startMbusSimulator({
      path: pair.b,
      meters: [
        { profile: getMbusProfile('kamstrup-multical-601'), primary: 5 },
        { profile: getMbusProfile('itron-cyble-mbus'), primary: 0, status: 0x04 }, // battery low
      ],
      faults: { badChecksums: 0.05 },
      seed: 3,
    });
    cleanups.push(() => sim.stop());

    const subscriber = mqtt.connect(broker.url, { protocolVersion: 4 });
    cleanups.push(() => void subscriber.end(true));
    const payloads: Buffer[] = [];
    subscriber.on('message', (_t, p) => payloads.push(p));
    await subscriber.subscribeAsync('#', { qos: 1 });

    const config = configSchema.parse({
      site: { id: 'chaufferie', name: 'Chaufferie', clock: { trust: 'always' } },
      gateway: { id: 'gw' },
      buses: [{ id: 'mbus', type: 'serial', port: pair.a, baud: 2400, parity: 'even' }],
      devices: [
        { id: 'heat', bus: 'mbus', protocol: 'mbus', profile: 'kamstrup-multical-601', poll: '1s', mbus: { address: 5 } },
        { id: 'water', bus: 'mbus', protocol: 'mbus', profile: 'itron-cyble-mbus', poll: '1s', mbus: { secondary: '12000123' } },
      ],
      aggregation: { window: '2s' },
      store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
      uplink: { broker: broker.url },
      policy: { allow: [{ match: '*', statistics: ['count', 'min', 'max', 'mean', 'last', 'delta'] }] },
    });
    await loadDriverModules(config);
    const gateway = new Gateway({ config, profiles: loadProfiles(), logger: silentLogger() });
    await gateway.start();
    cleanups.push(() => gateway.stop());

    const records = () => payloads.flatMap((p) => { try { return resolveSenml(decodeSenml(p, 'senml-json')); } catch { return []; } });
    await waitFor(() => ['heat/energy/last', 'heat/flow_temperature/mean', 'water/volume/last'].every((n) => records().some((r) => r.n.endsWith(n))), 30_000, 'summaries of both meters');

    const served = sim.served();
    const heatServed = served.filter((s) => s.id === '71234567');
    const waterServed = served.filter((s) => s.id === '12000123');
    const energyLast = records().find((r) => r.n.endsWith('heat/energy/last'))!;
    expect(energyLast.u).toBe('kWh');
    expect(heatServed.map((s) => s.values.energy)).toContain(energyLast.v);
    const flowMax = records().find((r) => r.n.endsWith('heat/flow_temperature/max'))!;
    expect(heatServed.map((s) => s.values.flow_temperature)).toContain(flowMax.v);
    expect(records().find((r) => r.n.endsWith('heat/volume_flow/mean'))?.u).toBe('l/s');
    expect(waterServed.map((s) => s.values.volume)).toContain(records().find((r) => r.n.endsWith('water/volume/last'))!.v);
    // A heat meter's energy index only grows.
    const energies = heatServed.map((s) => s.values.energy as number);
    expect(energies).toEqual([...energies].sort((a, b) => a - b));

    // Identifiers: read and kept on site, never upstream.
    for (const p of payloads) {
      const text = p.toString('latin1');
      for (const secret of ['71234567', '12000123', 'SITE TEST', 'fabrication_number', 'customer_id']) expect(text.includes(secret)).toBe(false);
    }
    const devices = (gateway.stats() as { devices: Record<string, Record<string, number>> }).devices;
    expect(devices.heat!.ok).toBeGreaterThan(0);
    expect(devices.water!.ok).toBeGreaterThan(0);
    expect(devices.water!.statusErrors).toBe(devices.water!.ok); // the meter's power-low bit, on every read
    expect(devices.heat!.statusErrors).toBe(0);
  }, 60_000);
});
