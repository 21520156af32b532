/**
 * Crash harness: runs a real gateway in a child process against a Modbus TCP simulator and a
 * Mosquitto broker (1 s windows, fast polls), kills it with SIGKILL at random moments during ingestion
 * and delivery, restarts it, and checks after every kill and at the end:
 *   - corrupt:             `PRAGMA integrity_check` is not ok when the store is reopened with its key;
 *   - lostAcked:           a message the store marked delivered (broker PUBACK) never reached the subscriber;
 *   - lostPending:         a message ever seen in the outbox (or reported enqueued) never reached it at all;
 *   - duplicatesUnflagged: a window delivered under two different ids, neither marked partial;
 *   - maxRawLoss:          readings the gateway received before a kill but never stored (bound: the raw batch
 *                          it may hold before a commit, plus the readings of the ingest the kill interrupted).
 *   - windowsMissing:      windows the store holds readings of that no summary reached the subscriber for
 *                          (a window the gateway was killed in is rebuilt at restart: src/gateway/recovery.ts);
 *   - summariesAheadOfMark: after a kill, summaries in the outbox whose window the store's window mark does
 *                          not cover (the mark is written in the summaries' transaction: never a kill between).
 * Used by tests/crash (>= 20 kills) and bench/crash.ts (200).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { ConfigInput } from '../../src/config/schema.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { windowStart } from '../../src/pipeline/windows.js';
import { MAX_READINGS_PER_QUERY } from '../../src/store/readings.js';
import { Store } from '../../src/store/store.js';
import { decodeSenml, resolveSenml } from '../../src/uplink/senml.js';
import { startMosquitto } from './brokers.js';

export interface CrashHarnessOptions {
  readonly kills: number;
  /** Uptime before each kill is drawn uniformly in [minUpMs, maxUpMs] after the child reports ready. */
  readonly minUpMs?: number;
  readonly maxUpMs?: number;
  /** Progress lines (one per kill). */
  readonly log?: (line: string) => void;
}

export interface CrashReport {
  readonly kills: number;
  readonly corrupt: number;
  readonly lostAcked: number;
  readonly lostPending: number;
  readonly duplicatesUnflagged: number;
  readonly maxRawLoss: number;
  readonly windowsMissing: number;
  readonly summariesAheadOfMark: number;
  /** The bound maxRawLoss is checked against: the gateway's rawBatchLimit plus the largest single ingest. */
  readonly rawLossBound: number;
  readonly readingsStored: number;
  readonly summariesSeen: number;
  readonly messagesReceived: number;
  readonly durationMs: number;
}

const CHILD = join(import.meta.dirname, 'crash-child.ts');
const HOST = '127.0.0.1';
const SITE = 'crash';
const GATEWAY = 'gw';
// A child start is ~1.5 s on an idle board, ~10 s when the 2 cores of the CI machine are shared.
const READY_TIMEOUT_MS = 30_000;

export interface ChildRun {
  readonly ingested: number;
  readonly batchLimit: number;
  readonly largestIngest: number;
  readonly enqueued: readonly string[];
}

interface Delivery {
  readonly id: string;
  readonly start: number;
  readonly end: number;
}

export async function runCrashHarness(opts: CrashHarnessOptions): Promise<CrashReport> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-crash-'));
  const profile = loadProfiles().get('eastron-sdm630')!;
  const sim = await startModbusTcpSimulator({ host: HOST, port: 0, devices: [{ unit: 1, profile }] });
  const broker = await startMosquitto();
  const subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 5, clean: true });
  const deliveries: Delivery[] = [];
  subscriber.on('message', (_topic, payload) => deliveries.push(parseDelivery(payload)));
  await subscriber.subscribeAsync(`passerelle/${SITE}/${GATEWAY}/summary`, { qos: 1 });

  const configFile = join(dir, 'site.json');
  const storeOpts = { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') };
  writeFileSync(configFile, JSON.stringify(siteConfig(sim.port, broker.url, storeOpts)));

  const seen = new Set<string>();
  const acked = new Set<string>();
  let corrupt = 0;
  let summariesAheadOfMark = 0;
  let maxRawLoss = 0;
  let rawLossBound = 0;
  let storedBefore = 0;
  let storedWindows = new Set<number>();
  try {
    for (let kill = 1; kill <= opts.kills; kill++) {
      const upMs = uniform(opts.minUpMs ?? 300, opts.maxUpMs ?? 2500);
      const run = await runChild(configFile, { killAfterMs: upMs });
      run.enqueued.forEach((id) => seen.add(id));
      const snapshot = inspectStore(storeOpts, seen, acked);
      if (!snapshot.ok) corrupt += 1;
      summariesAheadOfMark += snapshot.aheadOfMark;
      const loss = run.ingested - (snapshot.readings - storedBefore);
      maxRawLoss = Math.max(maxRawLoss, loss);
      rawLossBound = Math.max(rawLossBound, run.batchLimit + run.largestIngest);
      storedBefore = snapshot.readings;
      opts.log?.(`kill ${kill}/${opts.kills} after ${upMs} ms: integrity ${snapshot.ok ? 'ok' : 'FAILED'}, raw loss ${loss}, outbox pending ${snapshot.pending}`);
    }
    // A clean stop lets the uplink drain; a second run if anything is still pending.
    let pending = Infinity;
    for (let attempt = 0; attempt < 3 && pending > 0; attempt++) {
      const run = await runChild(configFile, { stopAfterMs: 2500 });
      run.enqueued.forEach((id) => seen.add(id));
      const snapshot = inspectStore(storeOpts, seen, acked);
      if (!snapshot.ok) corrupt += 1;
      storedBefore = snapshot.readings;
      pending = snapshot.pending;
    }
    await new Promise((r) => setTimeout(r, 500)); // the last PUBLISH reaches the subscriber
    storedWindows = storedWindowStarts(storeOpts);
  } finally {
    subscriber.end(true);
    await broker.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const received = new Set(deliveries.map((d) => d.id));
  return {
    kills: opts.kills,
    corrupt,
    lostAcked: [...acked].filter((id) => !received.has(id)).length,
    lostPending: [...seen].filter((id) => !received.has(id)).length,
    duplicatesUnflagged: countUnflaggedDuplicates(deliveries),
    maxRawLoss,
    windowsMissing: [...storedWindows].filter((start) => !deliveries.some((d) => d.start === start)).length,
    summariesAheadOfMark,
    rawLossBound,
    readingsStored: storedBefore,
    summariesSeen: seen.size,
    messagesReceived: received.size,
    durationMs: Date.now() - started,
  };
}

export function siteConfig(simPort: number, brokerUrl: string, store: { path: string; keyFile: string }, window = '1s'): ConfigInput {
  return {
    site: { id: SITE, name: 'Crash harness', timezone: 'Europe/Paris', clock: { trust: 'always' } },
    gateway: { id: GATEWAY },
    buses: [{ id: 'plant', type: 'tcp', host: HOST, port: simPort, timeout: '500ms' }],
    devices: [
      { id: 'meter', bus: 'plant', unit: 1, profile: 'eastron-sdm630', poll: '50ms', points: ['voltage_l1', 'current_l1', 'power_l1', 'power_total', 'frequency', 'energy_import'] },
    ],
    aggregation: { window },
    // Commits every second, as often as kills come: the kills land between commits and during them.
    store: { ...store, commitInterval: '1s' },
    uplink: { broker: brokerUrl, format: 'senml-json' },
    policy: { allow: [{ match: 'meter.*', statistics: ['count', 'mean', 'last'] }] },
  };
}

/** Opens the store as the restarted gateway would, checks it, and records every outbox id it holds. */
function inspectStore(opts: { path: string; keyFile: string }, seen: Set<string>, acked: Set<string>) {
  const store = Store.open(opts);
  try {
    const ok = store.integrityCheck().join() === 'ok';
    const mark = store.windowsClosedBefore() ?? -Infinity;
    let aheadOfMark = 0;
    for (const entry of store.outboxEntries(Number.MAX_SAFE_INTEGER)) {
      seen.add(entry.id);
      if (entry.deliveredAt !== undefined) acked.add(entry.id);
      if ((summaryEnd(entry.id) ?? -Infinity) > mark) aheadOfMark += 1;
    }
    return { ok, readings: store.readingCount(), pending: store.count(), aheadOfMark };
  } finally {
    store.close();
  }
}

/** End of the (1 s) window a summary id names (`site:gw:start[:partialEnd][#part]`); undefined for other messages. */
function summaryEnd(id: string): number | undefined {
  const match = new RegExp(`^${SITE}:${GATEWAY}:(\\d+)(?::(\\d+))?(?:#\\d+)?$`).exec(id);
  if (!match) return undefined;
  return match[2] !== undefined ? Number(match[2]) : Number(match[1]) + 1000;
}

/** Start of every window the store holds a reading of (the config's 1 s windows), paging through the readings. */
function storedWindowStarts(opts: { path: string; keyFile: string }): Set<number> {
  const store = Store.open(opts);
  const starts = new Set<number>();
  try {
    for (let from = 0; ; ) {
      const page = store.readingsBetween(from, Number.MAX_SAFE_INTEGER, MAX_READINGS_PER_QUERY);
      for (const r of page) starts.add(windowStart(r.ts, 1000, 'Europe/Paris'));
      if (page.length < MAX_READINGS_PER_QUERY) return starts;
      from = page[page.length - 1]!.ts + 1; // 1 ms past a page: the few readings of that instant share its window anyway
    }
  } finally {
    store.close();
  }
}

/** Kills (SIGKILL) or stops (SIGTERM) the child that long after it is ready; a function is asked at that moment. */
export function runChild(configFile: string, how: { killAfterMs: Delay } | { stopAfterMs: Delay }): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, configFile], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
    let report = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const readyTimeout = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => {
      const before = report;
      report += c.toString();
      if (!before.includes('ready\n') && report.includes('ready\n')) {
        clearTimeout(readyTimeout);
        timer = 'killAfterMs' in how ? setTimeout(() => child.kill('SIGKILL'), ms(how.killAfterMs)) : setTimeout(() => child.kill('SIGTERM'), ms(how.stopAfterMs));
      }
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(readyTimeout);
      clearTimeout(timer);
      if (!report.includes('ready\n')) return reject(new Error(`gateway child never got ready (${code ?? signal}): ${stderr}`));
      if (signal !== 'SIGKILL' && code !== 0) return reject(new Error(`gateway child failed (${code ?? signal}): ${stderr}`));
      resolve(parseReport(report));
    });
  });
}

function parseReport(text: string): ChildRun {
  let ingested = 0;
  let batchLimit = 0;
  let largestIngest = 0;
  const enqueued: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('b ')) batchLimit = Number(line.slice(2));
    else if (line.startsWith('i ')) {
      const n = Number(line.slice(2));
      ingested += n;
      largestIngest = Math.max(largestIngest, n);
    }
    else if (line.startsWith('s ')) enqueued.push(line.slice(2));
  }
  return { ingested, batchLimit, largestIngest, enqueued };
}

function parseDelivery(payload: Buffer): Delivery {
  const records = resolveSenml(decodeSenml(payload, 'senml-json'));
  const id = records.find((r) => r.n.endsWith('msg-id'))?.vs;
  const start = records.find((r) => r.n.endsWith('window-start'))?.v;
  if (typeof id !== 'string' || typeof start !== 'number') throw new Error(`a delivered message has no msg-id or window-start: ${payload.toString()}`);
  return { id, start: start * 1000, end: records[0]!.t * 1000 };
}

/**
 * Two different ids for the same window are a duplicate unless one is partial. Ids are
 * `site:gw:start` (full window) or `site:gw:start:end` (partial, at shutdown), `#k` for split parts.
 */
export function countUnflaggedDuplicates(deliveries: readonly Delivery[]): number {
  const fullIdsByStart = new Map<number, Set<string>>();
  for (const d of deliveries) {
    const base = d.id.split('#')[0]!;
    if (base.split(':').length > 3) continue; // partial: flagged by its id
    const ids = fullIdsByStart.get(d.start) ?? new Set<string>();
    ids.add(base);
    fullIdsByStart.set(d.start, ids);
  }
  return [...fullIdsByStart.values()].filter((ids) => ids.size > 1).length;
}

type Delay = number | (() => number);
const ms = (delay: Delay): number => Math.max(0, typeof delay === 'function' ? delay() : delay);

const uniform = (min: number, max: number): number => Math.round(min + Math.random() * (max - min));

