/**
 * A window the gateway is killed in is not lost: a real gateway (child process, Modbus TCP simulator,
 * Mosquitto) is killed with SIGKILL mid-window, restarted (once at once, once after the window ended),
 * and the interrupted windows' summaries must arrive, marked recovered, with counts equal to the good
 * readings the store holds for them, one summary per window.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../../src/profiles/index.js';
import { windowEnd, windowStart } from '../../src/pipeline/windows.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { Store } from '../../src/store/store.js';
import { decodeSenml, resolveSenml, type ResolvedSenmlRecord } from '../../src/uplink/senml.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { countUnflaggedDuplicates, runChild, siteConfig } from '../helpers/crash-harness.js';

const WINDOW_MS = 6000;
const GRACE_MS = 2000; // closeGrace of this config: max(2 s, 2 x 500 ms timeout), at most half a window
const ZONE = 'Europe/Paris';
const POINTS = ['voltage_l1', 'current_l1', 'power_l1', 'power_total', 'frequency', 'energy_import'];
const BASE = 'urn:dev:passerelle:crash:gw:';

interface Delivered {
  readonly id: string;
  readonly start: number;
  readonly end: number;
  readonly records: ReadonlyMap<string, ResolvedSenmlRecord>;
}

const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

/** The first instant, at least `after` and 400 ms from now, that lies `offset` ms into a window. */
function nextOffsetInWindow(after: number, offset: number): number {
  const earliest = Math.max(after, Date.now() + 400);
  const start = windowStart(earliest, WINDOW_MS, ZONE);
  return start + offset >= earliest ? start + offset : windowEnd(start, WINDOW_MS, ZONE) + offset;
}

describe('a window the gateway was killed in', () => {
  let dir: string;
  let sim: ModbusTcpSimulator;
  let broker: MosquittoBroker;
  let subscriber: mqtt.MqttClient;
  const deliveries: Delivered[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'passerelle-recovery-'));
    sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: loadProfiles().get('eastron-sdm630')! }] });
    broker = await startMosquitto();
    subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clean: true });
    subscriber.on('message', (_topic, payload) => {
      const records = resolveSenml(decodeSenml(payload, 'senml-json'));
      const byName = new Map(records.map((r) => [r.n.slice(BASE.length), r]));
      deliveries.push({ id: String(byName.get('msg-id')!.vs), start: byName.get('window-start')!.v! * 1000, end: records[0]!.t * 1000, records: byName });
    });
    await subscriber.subscribeAsync('passerelle/crash/gw/summary', { qos: 1 });
  });

  afterAll(async () => {
    subscriber?.end(true);
    await broker?.close();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is sent after the restart, marked recovered, with the counts of the stored readings; once', async () => {
    const store = { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') };
    const configFile = join(dir, 'site.json');
    writeFileSync(configFile, JSON.stringify(siteConfig(sim.port, broker.url, store, `${WINDOW_MS / 1000}s`)));
    const lastStored = () => {
      const s = Store.open(store);
      try {
        return s.lastReadingTs()!;
      } finally {
        s.close();
      }
    };

    // Kill 1, 2 s into a window, at least 2.5 s after the gateway is ready, so that raw readings have
    // waited the 1 s commit interval and been committed (killed sooner, none is stored: nothing to rebuild);
    // restart at once (the window usually goes on with live readings). The window to rebuild is the one of
    // the newest stored reading (under load the last commit before the kill may be late: then it is the
    // window before the one the kill fell in).
    await runChild(configFile, { killAfterMs: () => nextOffsetInWindow(Date.now() + 2500, 2000) - Date.now() });
    const last1 = lastStored();
    const w1 = windowStart(last1, WINDOW_MS, ZONE);
    // Kill 2, in a later window once window 1 has closed; restart only after that window ended.
    await runChild(configFile, { killAfterMs: () => nextOffsetInWindow(windowEnd(w1, WINDOW_MS, ZONE) + GRACE_MS + 500, 2500) - Date.now() });
    const last2 = lastStored();
    const w2 = windowStart(last2, WINDOW_MS, ZONE);
    await sleepUntil(windowEnd(w2, WINDOW_MS, ZONE) + GRACE_MS + 200);
    // Clean runs until the outbox is empty (under load a short run may stop before the broker took everything).
    for (let attempt = 0, pending = Infinity; attempt < 3 && pending > 0; attempt++) {
      await runChild(configFile, { stopAfterMs: 2500 });
      const s = Store.open(store);
      pending = s.count();
      s.close();
    }
    await new Promise((r) => setTimeout(r, 500)); // the last PUBLISH reaches the subscriber

    const final = Store.open(store);
    const goodStored = (d: Delivered, point: string) =>
      final.readingsBetween(d.start, d.end, 10_000).filter((r) => r.point === point && r.quality === 'good' && r.value !== null).length;
    try {
      for (const [start, last] of [[w1, last1], [w2, last2]] as const) {
        const forWindow = deliveries.filter((d) => d.start === start);
        expect(new Set(forWindow.map((d) => d.id)), `window ${start} (w1 ${w1}, w2 ${w2}, last ${last}; delivered ${deliveries.map((d) => `${d.id}${d.records.has('recovered/lost') ? 'R' : ''}`).join(' ')})`).toEqual(new Set([`crash:gw:${start}`]));
        const summary = forWindow[0]!;
        expect(summary.records.get('recovered/lost')?.v).toBeGreaterThan(0);
        expect(summary.records.get('recovered/gap-start')?.v).toBe(last / 1000);
      }
      // Window 2 was rebuilt only from the store: its gap runs to its end.
      const w2Summary = deliveries.find((d) => d.start === w2)!;
      expect(w2Summary.records.get('recovered/gap-end')?.v).toBe(windowEnd(w2, WINDOW_MS, ZONE) / 1000);
      expect(w2Summary.records.get('meter/power_total/count')!.v).toBeGreaterThan(0);
      // Every rebuilt window (w1, w2, and the one before each if it was still in its close grace at the
      // kill) counts exactly the good readings the store holds for it.
      const rebuilt = deliveries.filter((d) => d.records.has('recovered/lost'));
      const previous = (start: number) => windowStart(start - 1, WINDOW_MS, ZONE);
      expect(rebuilt.every((d) => [w1, w2, previous(w1), previous(w2)].includes(d.start))).toBe(true);
      for (const d of rebuilt) {
        if (d.start !== w1 && d.start !== w2) expect(d.records.get('recovered/lost')?.v).toBe(0); // closed before the gap
        for (const point of POINTS) expect(d.records.get(`meter/${point}/count`)?.v, `${point} in window ${d.start}`).toBe(goodStored(d, point));
      }
    } finally {
      final.close();
    }
    // Windows closed normally carry no marking; no window went out under two ids.
    expect(deliveries.some((d) => !d.records.has('recovered/lost'))).toBe(true);
    expect(countUnflaggedDuplicates(deliveries)).toBe(0);
  }, 150_000);
});
