/**
 * `npm run bench -- status [--points N]`: what the status page costs the gateway (issue 14).
 *
 * 1. Nobody watching: the per-reading bookkeeping the gateway does anyway (last value, the last hour
 *    sampled every 10 s), in ns per reading.
 * 2. A page open: one snapshot (built and serialised to JSON, as pushed at most once a second), with N
 *    points each holding a full hour of history: median ms and bytes.
 * CPU time from process.hrtime; figures in bench/RESULTS.md.
 */
import { configSchema } from '../src/config/schema.js';
import type { PointInfo, Reading } from '../src/core/types.js';
import { GatewayStatus } from '../src/gateway/status-source.js';
import { median, printResult, printTable, round3 } from './lib/report.js';

const ROUNDS = 15;

export async function run(args: string[]): Promise<void> {
  const i = args.indexOf('--points');
  const n = i >= 0 ? Number(args[i + 1]) : 200;
  const config = configSchema.parse({
    site: { id: 'bench', name: 'bench', timezone: 'Europe/Paris' },
    gateway: { id: 'gw' },
    store: { path: '/nonexistent/bench.db', keyFile: '/nonexistent/bench.key' },
    status: {},
  });
  const points: PointInfo[] = Array.from({ length: n }, (_, k) => ({ device: `d${k % 20}`, point: `p${k}`, unit: 'W', dataClass: 'energy', measure: 'gauge' }));
  const status = new GatewayStatus({
    config, points, expectedPerWindow: new Map(points.map((p) => [`${p.device}.${p.point}`, 300])), buses: new Map(), serial: [],
    store: () => undefined, clock: () => ({ trusted: true, held: 0 }),
  });
  // An hour of readings, one per point per second (the history keeps one per 10 s).
  const t0 = Date.now() - 3_600_000;
  const seconds = 3600;
  const start = process.hrtime.bigint();
  for (let s = 0; s < seconds; s++) {
    const batch: Reading[] = points.map((p, k) => ({ device: p.device, point: p.point, ts: t0 + s * 1000, value: 1000 + k + Math.sin(s / 60), quality: 'good' }));
    status.noteReadings(batch);
  }
  const nsPerReading = Number(process.hrtime.bigint() - start) / (seconds * n);
  const times: number[] = [];
  let bytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t = process.hrtime.bigint();
    bytes = JSON.stringify(status.snapshot()).length;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const snapshotMs = round3(median(times));
  printTable([{ points: n, 'ns per reading (nobody watching)': Math.round(nsPerReading), 'snapshot ms (median)': snapshotMs, 'snapshot bytes': bytes }]);
  printResult('status', { points: n, nsPerReading: Math.round(nsPerReading), snapshotMs, snapshotBytes: bytes });
}
