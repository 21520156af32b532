/**
 * The whole serial path, every part real: TIC simulator (with noise, cut frames, bad checksums) ->
 * pty -> TicDriver -> range check + Aggregator -> encrypted Store -> MqttUplink -> Mosquitto ->
 * a subscriber that decodes the SenML. The meter identifier is a kept point, and the policy allows
 * everything of the meter: it must still never reach the broker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, type TicDeviceConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { pointKey, type Reading, type WindowSummary } from '../../src/core/types.js';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { checkRange } from '../../src/pipeline/quality.js';
import { Store } from '../../src/store/store.js';
import { MqttUplink, buildOutboxMessages, summaryTopic } from '../../src/uplink/mqtt-uplink.js';
import { decodeSenml, resolveSenml } from '../../src/uplink/senml.js';
import { TicDriver } from '../../src/drivers/serial/tic-driver.js';
import { ticPointInfos } from '../../src/drivers/serial/tic/points.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startTicSimulator, TIC_SIM_DEFAULT_METER_ID, type TicSimulator } from '../../src/sim/tic.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { stat, waitFor } from './helpers.js';

const WINDOW_MS = 2000;

describe('TIC meter to broker over a pty', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('publishes summaries of what the meter sent, keeps going through line faults, never sends the meter id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-tic-e2e-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const broker: MosquittoBroker = await startMosquitto();
    cleanups.push(() => broker.close());
    const pair: PtyPair = await createPtyPair();
    cleanups.push(() => pair.close());
    const config = configSchema.parse({
      site: { id: 'mairie', name: 'Mairie', timezone: 'Europe/Paris' },
      gateway: { id: 'gw1' },
      buses: [{ id: 'tic', type: 'serial', port: pair.a, baud: 9600, dataBits: 7, parity: 'even' }],
      devices: [{ id: 'linky', bus: 'tic', protocol: 'tic', tic: { mode: 'auto', labels: ['ADSC', 'EAST', 'SINSTS', 'IRMS1', 'LTARF'] } }],
      aggregation: { window: '2s' },
      store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
      uplink: { broker: broker.url, format: 'senml-json' },
      policy: { allow: [{ match: 'linky.*', statistics: ['count', 'min', 'max', 'mean', 'last', 'delta'] }] },
    });
    const device = config.devices[0] as TicDeviceConfig;

    const subscriber = mqtt.connect(broker.url, { protocolVersion: 4 });
    cleanups.push(() => void subscriber.end(true));
    const traffic: { topic: string; payload: Buffer }[] = [];
    subscriber.on('message', (topic, payload) => traffic.push({ topic, payload }));
    await subscriber.subscribeAsync('#', { qos: 1 });

    // The pipeline, as the gateway composes it.
    const points = ticPointInfos(device);
    const info = new Map(points.map((p) => [pointKey(p.device, p.point), p]));
    const aggregator = new Aggregator({ site: 'mairie', gateway: 'gw1', windowMs: WINDOW_MS, timeZone: 'Europe/Paris', points });
    const store = Store.open({ path: config.store.path, keyFile: config.store.keyFile });
    const uplink = new MqttUplink({ url: broker.url, site: 'mairie', gateway: 'gw1', topicPrefix: 'passerelle', outbox: store, logger: silentLogger() });
    await uplink.start();
    const topic = summaryTopic('passerelle', 'mairie', 'gw1');
    const emitted: Reading[] = [];
    const summaries: WindowSummary[] = [];
    const ingest = (readings: readonly Reading[]) => {
      const checked = readings.map((r) => checkRange(r, info.get(pointKey(r.device, r.point)) ?? {}));
      emitted.push(...checked);
      aggregator.add(checked);
      store.appendReadings(checked);
    };
    const closer = setInterval(() => {
      for (const s of aggregator.close(Date.now() - 300)) {
        summaries.push(s);
        for (const m of buildOutboxMessages(s, config.policy, 'senml-json', topic)) store.enqueue(m);
        uplink.kick();
      }
    }, 100);

    const sim: TicSimulator = await startTicSimulator({ path: pair.b, mode: 'standard', seed: 11, gapMs: 150, faults: { noise: 0.3, cutFrames: 0.15, badChecksums: 0.05 } });
    const driver = new TicDriver(device, config.buses[0]!, silentLogger());
    await driver.start(ingest);
    cleanups.push(async () => {
      await driver.stop();
      await sim.stop();
      clearInterval(closer);
      await uplink.stop();
      store.close();
    });

    const summaryMessages = () => traffic.filter((t) => t.topic === topic);
    await waitFor(() => summaryMessages().length >= 3 && stat(driver, 'checksumErrors') >= 1 && stat(driver, 'truncated') >= 1, 30_000, 'three summaries and faults');

    // A full window (the first may have started mid-window) with SINSTS in it: its statistics are
    // those of the readings the driver decoded.
    const windows = summaryMessages().slice(1).map((m) => resolveSenml(decodeSenml(m.payload, 'senml-json')));
    const records = windows.find((w) => w.some((r) => r.n.endsWith('linky/sinsts/count')))!;
    expect(records).toBeDefined();
    const end = records[0]!.t * 1000;
    const start = records.find((r) => r.n.endsWith('window-start'))!.v! * 1000;
    expect(end - start).toBe(WINDOW_MS);
    const value = (suffix: string) => records.find((r) => r.n.endsWith(suffix))?.v;
    const sinsts = emitted.filter((r) => r.point === 'sinsts' && r.quality === 'good' && r.ts >= start && r.ts < end).map((r) => r.value as number);
    expect(sinsts.length).toBeGreaterThanOrEqual(1);
    expect(value('linky/sinsts/count')).toBe(sinsts.length);
    expect(value('linky/sinsts/min')).toBe(Math.min(...sinsts));
    expect(value('linky/sinsts/max')).toBe(Math.max(...sinsts));
    // Consumption: from the last index of the previous window (or this window's first) to this window's last.
    const east = emitted.filter((r) => r.point === 'east' && r.quality === 'good');
    const inWindow = east.filter((r) => r.ts >= start && r.ts < end);
    const previous = east.filter((r) => r.ts >= start - WINDOW_MS && r.ts < start).at(-1) ?? inWindow[0];
    expect(inWindow.length).toBeGreaterThanOrEqual(1);
    expect(value('linky/east/delta')).toBe((inWindow.at(-1)!.value as number) - (previous!.value as number));
    expect(records.find((r) => r.n.endsWith('linky/east/delta'))?.u).toBe('Wh');
    // Every decoded SINSTS is a value the meter sent.
    const sent = new Set(sim.sentFrames().map((f) => Number(f.values.SINSTS)));
    for (const v of sinsts) expect(sent.has(v)).toBe(true);

    // The identifier was decoded and kept on site, yet no byte of it went to the broker.
    expect(emitted.some((r) => r.point === 'adsc' && r.value === TIC_SIM_DEFAULT_METER_ID)).toBe(true);
    for (const t of traffic) {
      expect(t.payload.includes(TIC_SIM_DEFAULT_METER_ID)).toBe(false);
      expect(t.topic.includes(TIC_SIM_DEFAULT_METER_ID)).toBe(false);
      expect(t.payload.toString('latin1').toLowerCase().includes('adsc')).toBe(false);
    }
    // Faults were injected and counted; the driver is still decoding.
    const framesNow = stat(driver, 'frames');
    expect(sim.counts().noiseBursts).toBeGreaterThan(0);
    await waitFor(() => stat(driver, 'frames') > framesNow, 5000, 'more frames');
  }, 60_000);
});
