/**
 * `npm run bench -- ingest [readings]`: readings per second through the gateway's write path, next to
 * the alternatives a user would compare, all in the same run (the machine is noisy: compare ratios):
 *   full/encrypted  QualityChecker.check + Aggregator.add + Store.appendReadings, chacha20 store
 *   full/plain      the same on an unencrypted store
 *   store/encrypted Store.appendReadings alone, encrypted        } encryptedOverPlain = time ratio
 *   store/plain     Store.appendReadings alone, unencrypted      }
 *   bare/plain      better-sqlite3 prepared INSERTs, one transaction per batch, one row per reading with
 *                   its class and time index (the layout before schema 3), same pragmas
 * Batches of BATCH readings: a 5-minute commit of a 50-point site. Each variant runs ROUNDS times, interleaved; medians.
 */
import Database from 'better-sqlite3-multiple-ciphers';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pointKey, type DataClass, type PointInfo, type Reading } from '../src/core/types.js';
import { Aggregator } from '../src/pipeline/aggregator.js';
import { QualityChecker } from '../src/pipeline/quality.js';
import { Store } from '../src/store/store.js';
import { median, printResult, printTable, round3 } from './lib/report.js';

/** Rounds are paired: each compares variants run back to back, so a slow spell of the disk hits both. */
const ROUNDS = 9;
const DEVICES = 4;
const POINTS_PER_DEVICE = 10;
/** Virtual sampling step between consecutive readings: 40 points every second. */
const STEP_MS = 25;
/** Readings per commit: about what a 50-point site polled every 10 s holds for 5 minutes (rawBatchLimit). */
const BATCH = 2000;

interface Variant {
  readonly name: string;
  /** Runs the variant over `readings` in `dir`; returns nothing, timed from outside. */
  readonly setup: (dir: string) => { write: (batch: readonly Reading[]) => void; close: () => void };
}

export async function run(args: string[]): Promise<void> {
  const total = Number(args[0] ?? 100_000);
  const points = makePoints();
  const readings = makeReadings(points, total);
  const batches: Reading[][] = [];
  for (let i = 0; i < readings.length; i += BATCH) batches.push(readings.slice(i, i + BATCH));

  const variants: Variant[] = [
    { name: 'full/encrypted', setup: (dir) => fullPath(points, Store.open(storeOptions(dir, points))) },
    { name: 'full/plain', setup: (dir) => fullPath(points, Store.openUnencrypted(storeOptions(dir, points))) },
    { name: 'store/encrypted', setup: (dir) => storeOnly(Store.open(storeOptions(dir, points))) },
    { name: 'store/plain', setup: (dir) => storeOnly(Store.openUnencrypted(storeOptions(dir, points))) },
    { name: 'bare/plain', setup: (dir) => bareInsert(dir, points) },
  ];
  const times = new Map<string, { wallMs: number[]; cpuUs: number[] }>(variants.map((v) => [v.name, { wallMs: [], cpuUs: [] }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of variants) {
      const dir = mkdtempSync(join(tmpdir(), 'passerelle-bench-'));
      try {
        const target = variant.setup(dir);
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        for (const batch of batches) target.write(batch);
        const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
        const cpu = process.cpuUsage(cpu0);
        target.close();
        times.get(variant.name)!.wallMs.push(wallMs);
        times.get(variant.name)!.cpuUs.push(cpu.user + cpu.system);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }

  /** Median over rounds of the per-round time ratio (the disk's fsync latency swings between rounds). */
  const pairedRatio = (a: string, b: string) => median(times.get(a)!.wallMs.map((ms, i) => ms / times.get(b)!.wallMs[i]!));
  const med = (name: string) => ({ wallMs: median(times.get(name)!.wallMs), cpuUs: median(times.get(name)!.cpuUs) });
  const rows = variants.map((v) => {
    const m = med(v.name);
    return { variant: v.name, readings: total, 'median ms': m.wallMs, 'readings/s': Math.round((total / m.wallMs) * 1000), 'cpu µs/reading': m.cpuUs / total };
  });
  process.stdout.write(`ingest: ${total} readings in batches of ${BATCH}, ${ROUNDS} interleaved rounds, medians\n`);
  printTable(rows);
  const full = med('full/encrypted');
  const bare = med('bare/plain');
  printResult('ingest', {
    readingsPerSec: Math.round((total / full.wallMs) * 1000),
    overBareInsert: round3(bare.wallMs / full.wallMs),
    encryptedOverPlain: round3(pairedRatio('store/encrypted', 'store/plain')),
    fullEncryptedOverPlain: round3(pairedRatio('full/encrypted', 'full/plain')),
    cpuUsPerReading: round3(full.cpuUs / total),
  });
}

function storeOptions(dir: string, points: readonly PointInfo[]) {
  return {
    path: join(dir, 'store.db'),
    keyFile: join(dir, 'store.key'),
    pointClasses: new Map(points.map((p) => [pointKey(p.device, p.point), p.dataClass])),
  };
}

/** What Gateway.ingest + flushRaw do per batch. */
/** What the gateway runs per batch: the quality checker (range, rate, stuck), aggregation, the store. */
function fullPath(points: readonly PointInfo[], store: Store) {
  const quality = new QualityChecker(
    points.map((p) => ({ device: p.device, point: p.point, measure: p.measure, range: p.range, maxRatePerMinute: 100_000, stuckAfter: p.measure === 'gauge' ? 20 : undefined })),
  );
  const aggregator = new Aggregator({ site: 'bench', gateway: 'gw', windowMs: 60_000, timeZone: 'Europe/Paris', points });
  return {
    write: (batch: readonly Reading[]) => {
      const checked = batch.map((r) => quality.check(r));
      aggregator.add(checked);
      store.appendReadings(checked);
      aggregator.close(batch.at(-1)!.ts);
    },
    close: () => store.close(),
  };
}

function storeOnly(store: Store) {
  return { write: (batch: readonly Reading[]) => store.appendReadings(batch), close: () => store.close() };
}

/** The alternative: raw better-sqlite3, one row per reading (the layout before schema 3), same pragmas, no checks. */
function bareInsert(dir: string, points: readonly PointInfo[]) {
  const path = join(dir, 'store.db');
  const db = new Database(path);
  db.pragma('page_size = 1024');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`CREATE TABLE readings (device TEXT NOT NULL, point TEXT NOT NULL, ts INTEGER NOT NULL, value REAL, text TEXT,
    quality TEXT NOT NULL, reason TEXT, class TEXT);
    CREATE INDEX readings_by_ts ON readings (ts); CREATE INDEX readings_by_class_ts ON readings (class, ts);`);
  db.pragma('secure_delete = ON');
  db.pragma('wal_autocheckpoint = 4000');
  const classes = new Map(points.map((p) => [pointKey(p.device, p.point), p.dataClass]));
  const insert = db.prepare('INSERT INTO readings (device, point, ts, value, text, quality, reason, class) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const insertBatch = db.transaction((batch: readonly Reading[]) => {
    for (const r of batch) {
      insert.run(r.device, r.point, r.ts, typeof r.value === 'number' ? r.value : null, typeof r.value === 'string' ? r.value : null, r.quality, r.reason ?? null, classes.get(pointKey(r.device, r.point)) ?? null);
    }
  });
  return { write: (batch: readonly Reading[]) => insertBatch(batch), close: () => db.close() };
}

function makePoints(): PointInfo[] {
  const classes: DataClass[] = ['energy', 'comfort', 'environment', 'diagnostic'];
  const points: PointInfo[] = [];
  for (let d = 0; d < DEVICES; d++) {
    for (let p = 0; p < POINTS_PER_DEVICE; p++) {
      points.push({ device: `dev-${d}`, point: `p${p}`, unit: 'W', dataClass: classes[d % classes.length]!, measure: p === 0 ? 'counter' : 'gauge', range: [0, 10_000] });
    }
  }
  return points;
}

/** Realistic values near now (so windows close and nothing is past retention); 1 in 200 out of range. */
function makeReadings(points: readonly PointInfo[], total: number): Reading[] {
  const start = Date.now() - total * STEP_MS;
  return Array.from({ length: total }, (_, i) => {
    const p = points[i % points.length]!;
    const value = i % 200 === 0 ? 20_000 : p.measure === 'counter' ? i : 1000 + Math.sin(i / 50) * 500;
    return { device: p.device, point: p.point, ts: start + i * STEP_MS, value, quality: 'good' as const };
  });
}
