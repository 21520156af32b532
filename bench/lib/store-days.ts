/**
 * Days of a 50-point site's store at full speed: the real Store (encrypted, default settings) driven by an
 * injected clock, one window's commit per step as the gateway makes it (the window's raw batch, its
 * summary and health messages, the ledger's counters, the previous window's acknowledgements), for
 * `days` days. Prints one JSON line: the bytes this process sent to storage (/proc/self/io write_bytes)
 * per simulated day, so the autocheckpoints a gateway runs every few hours and the retention of a
 * gateway past its first week (7 days) are counted at their real frequency, which a real-time run of
 * minutes cannot show. Every commit is synced (synchronous = FULL) as in the gateway; the one thing a
 * full-speed run does not reproduce is the kernel writing back the WAL index (`-shm`, a shared mapping)
 * every 30 s: the footprint bench measures that part in real time and adds it.
 *
 * Run as its own process (footprint.ts does): `node --import tsx bench/lib/store-days.ts DIR DAYS`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';

const WINDOW_MS = 300_000;
const POLL_MS = 10_000;
const WINDOWS_PER_DAY = 288;
const POINTS = Array.from({ length: 50 }, (_, i) => ({ device: `meter${(i % 4) + 1}`, point: `point_${i}` }));

export interface StoreDays {
  /** MB sent to storage on each simulated day, in order. */
  readonly perDayMB: readonly number[];
  /** MB written by the close (last commit, full checkpoint). */
  readonly closeMB: number;
}

function writeBytes(): number {
  return Number(/^write_bytes:\s*(\d+)$/m.exec(readFileSync('/proc/self/io', 'latin1'))?.[1] ?? NaN);
}

/** A meter's float32 noise, as the simulator serves it: it does not deflate. */
const noisy = (base: number): number => Math.fround(base + Math.random());

function summaryPayload(start: number): Buffer {
  const records = POINTS.flatMap((p) =>
    ['mean', 'min', 'max'].map((s) => ({ n: `${p.device}.${p.point}:${s}`, u: 'V', v: Number(noisy(230).toFixed(3)), t: start / 1000 })),
  );
  return Buffer.from(JSON.stringify([{ bn: 'urn:dev:gw:bench:', bt: start / 1000 }, ...records]));
}

function healthPayload(start: number, w: number): Buffer {
  return Buffer.from(JSON.stringify({ t: start, buses: { plant: { requests: 120 * (w + 1), timeouts: 0, crc: 0 } }, store: { bytes: 9_000_000 + 1000 * w, pending: 1 }, drops: { raw: 0, summaries: 0 }, clock: 'ok' }));
}

export function simulateStoreDays(dir: string, days: number): StoreDays {
  let now = Date.UTC(2026, 0, 5);
  const store = Store.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'store.key'), now: () => now, timeZone: 'Europe/Paris' });
  const perDayMB: number[] = [];
  let previous: string[] = [];
  let dayStart = writeBytes();
  for (let w = 0; w < days * WINDOWS_PER_DAY; w++) {
    const start = now;
    const readings = [];
    for (let t = start; t < start + WINDOW_MS; t += POLL_MS) {
      for (const p of POINTS) readings.push({ device: p.device, point: p.point, ts: t + 37, value: noisy(230), quality: 'good' as const });
    }
    now = start + WINDOW_MS;
    for (const id of previous) store.ack(id);
    previous = [`s${w}`, `h${w}`];
    store.noteLedger(start, { windows: 1, goodReadings: readings.length, expectedReadings: readings.length });
    store.enqueueAll(
      [
        { id: `s${w}`, topic: 'passerelle/bench/gw/summary', payload: summaryPayload(start), createdAt: now, policy: 'p' },
        { id: `h${w}`, topic: 'passerelle/bench/gw/health', payload: healthPayload(start, w), createdAt: now, policy: 'p' },
      ],
      now,
      readings,
    );
    if ((w + 1) % WINDOWS_PER_DAY === 0) {
      const bytes = writeBytes();
      perDayMB.push((bytes - dayStart) / 1e6);
      dayStart = bytes;
    }
  }
  store.close();
  return { perDayMB, closeMB: (writeBytes() - dayStart) / 1e6 };
}

if (process.argv[1]?.endsWith('store-days.ts')) {
  const [dir, days] = process.argv.slice(2);
  process.stdout.write(`${JSON.stringify(simulateStoreDays(dir!, Number(days ?? 9)))}\n`);
}
