/**
 * `npm run bench -- modbus-bus [seconds]`: the Modbus line, three ways.
 *  (a) Planner: requests and bus time per cycle of our planner next to Telegraf's `max_insert` grouping
 *      (optimization_max_register_fill 10 and 50, ported in telegraf-grouping.ts) and to an exhaustive
 *      search, on the shipped sites and on seeded scattered registers. Exhaustive: every set partition for
 *      up to 8 distinct ranges; above, every consecutive partition (exact by the lemma in planner.ts, and
 *      equal to the full search for n <= 8 in tests/planner); above MAX_CONSECUTIVE_RANGES nothing is compared.
 *      busTimeOverOptimal and busTimeOverTelegrafBest are the WORST ratio over all plans (the criterion is
 *      "never above"); the table also shows the totals.
 *  (b) Wall time of a poll cycle of 4 devices on the paced RTU simulator at 9600 baud (real pty), next to
 *      the computed wire time (sum of requestCostMs with the profiles' turnarounds).
 *  (c) Poll rate of the healthy devices with and without one dead (silent) device on the same line,
 *      measured after a warm-up in which the dead device gets backed off.
 * Last line: {"bench":"modbus-bus","wallOverWire","busTimeOverOptimal","busTimeOverTelegrafBest","deadDeviceSlowdown"}.
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/core/logger.js';
import type { Reading } from '../src/core/types.js';
import { loadConfigFile } from '../src/config/index.js';
import { knownProfiles } from '../src/gateway/load-site.js';
import { loadProfiles, type Profile } from '../src/profiles/index.js';
import { ModbusBus } from '../src/bus/modbus-bus.js';
import { FUNCTION_OF, pointWidth, selectPoints } from '../src/drivers/modbus/device-plan.js';
import { exhaustivePlan, MAX_BRUTE_FORCE_RANGES, MAX_CONSECUTIVE_RANGES } from '../src/drivers/modbus/exhaustive-plan.js';
import { ModbusDeviceDriver } from '../src/drivers/modbus/modbus-driver.js';
import { effectiveMaxPerRead, planCostMs, planReads, touchesRefused, type PlanInput } from '../src/drivers/modbus/planner.js';
import { lineTimingOf } from '../src/drivers/modbus/site-plan.js';
import { telegrafMaxInsert } from '../src/drivers/modbus/telegraf-grouping.js';
import { t35Ms, type LineTiming, type ReadFunction } from '../src/drivers/modbus/wire-cost.js';
import { startModbusRtuSimulator } from '../src/sim/modbus-rtu.js';
import { createPtyPair } from '../src/sim/pty.js';
import { median, printResult, printTable, round3 } from './lib/report.js';
import { mulberry32 } from '../tests/helpers/seeded.js';

const profiles = loadProfiles();
const BAUD = 9600;
const RTU: LineTiming = { kind: 'rtu', baud: BAUD };

export async function run(args: string[]): Promise<void> {
  const seconds = Number(args[0] ?? 60);
  log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} cores (wall times suffer on a busy machine)`);
  const planner = await plannerPart();
  const wall = await wallPart();
  const dead = await deadDevicePart(seconds);
  printResult('modbus-bus', {
    wallOverWire: round3(wall),
    busTimeOverOptimal: round3(planner.overOptimal),
    busTimeOverTelegrafBest: round3(planner.overTelegrafBest),
    deadDeviceSlowdown: round3(dead),
  });
}

// ---------------------------------------------------------------------------------------------------------
// (a) planner
// ---------------------------------------------------------------------------------------------------------

interface Instance {
  readonly input: PlanInput;
  readonly timing: LineTiming;
}

interface Outcome {
  readonly requests: number;
  readonly busMs: number;
}

async function plannerPart(): Promise<{ overOptimal: number; overTelegrafBest: number }> {
  const sets: [string, Instance[]][] = [
    ['example-school', await siteInstances('config/example-school.yaml')],
    ['demo', await siteInstances('config/demo.yaml')],
    ['scattered n<=8 (RTU 9600)', scattered(40, 4, 8, 1)],
    ['scattered n=12-16 (RTU 9600)', scattered(20, 12, 16, 2)],
  ];
  const started = performance.now();
  const rows = [];
  let overOptimal = 0;
  let overTelegrafBest = 0;
  const sum = { ours: 0, tgBest: 0 };
  for (const [name, instances] of sets) {
    const totals = { ours: zero(), tg10: zero(), tg50: zero(), exact: zero() };
    let exactCount = 0;
    for (const inst of instances) {
      const ours = oursOf(inst);
      const tg10 = telegrafOf(inst, 10);
      const tg50 = telegrafOf(inst, 50);
      const exact = exactOf(inst);
      add(totals.ours, ours);
      add(totals.tg10, tg10);
      add(totals.tg50, tg50);
      const tgBest = Math.min(tg10.busMs, tg50.busMs);
      overTelegrafBest = Math.max(overTelegrafBest, ours.busMs / tgBest);
      sum.ours += ours.busMs;
      sum.tgBest += tgBest;
      if (exact) {
        exactCount += 1;
        add(totals.exact, exact);
        overOptimal = Math.max(overOptimal, ours.busMs / exact.busMs);
      }
    }
    rows.push({
      set: name,
      plans: instances.length,
      'ours req': totals.ours.requests,
      'ours ms': totals.ours.busMs,
      'tg fill10 req': totals.tg10.requests,
      'tg fill10 ms': totals.tg10.busMs,
      'tg fill50 req': totals.tg50.requests,
      'tg fill50 ms': totals.tg50.busMs,
      exhaustive: `${exactCount}/${instances.length}`,
      'exh req': totals.exact.requests,
      'exh ms': totals.exact.busMs,
    });
  }
  log('\n(a) planner: requests and bus time per poll cycle, summed over the plans of each set (one plan = one device x one function)');
  printTable(rows);
  log(
    `worst plan: ours/exhaustive ${overOptimal.toFixed(4)}, ours/min(Telegraf fill 10, fill 50) ${overTelegrafBest.toFixed(4)}; ` +
      `all plans: ours/Telegraf best ${(sum.ours / sum.tgBest).toFixed(4)} (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );
  return { overOptimal, overTelegrafBest };
}

const zero = () => ({ requests: 0, busMs: 0 });
const add = (total: { requests: number; busMs: number }, o: Outcome) => {
  total.requests += o.requests;
  total.busMs += o.busMs;
};

function oursOf({ input, timing }: Instance): Outcome {
  const plan = planReads(input, timing);
  return { requests: plan.reads.length, busMs: planCostMs(plan.reads, timing, input.turnaroundMs) };
}

/** Telegraf's requests; one it would send but the device cannot serve (too long, refused) makes the plan invalid. */
function telegrafOf({ input, timing }: Instance, fill: number): Outcome {
  const requests = telegrafMaxInsert(input.wanted, input.maxPerRead, fill);
  const max = effectiveMaxPerRead(input.fn, input.maxPerRead);
  const invalid = requests.some((r) => r.count > max || touchesRefused({ start: r.address, end: r.address + r.count - 1 }, input.refused));
  const busMs = invalid ? Infinity : planCostMs(requests.map((r) => ({ fn: input.fn, count: r.count })), timing, input.turnaroundMs);
  return { requests: requests.length, busMs };
}

function exactOf({ input, timing }: Instance): Outcome | undefined {
  const distinct = new Set(input.wanted.map((w) => `${w.address}:${w.count}`)).size;
  if (distinct > MAX_CONSECUTIVE_RANGES) return undefined;
  const plan = exhaustivePlan(input, timing, { consecutiveOnly: distinct > MAX_BRUTE_FORCE_RANGES });
  return { requests: plan.reads.length, busMs: planCostMs(plan.reads, timing, input.turnaroundMs) };
}

/** One plan per Modbus device and register kind of a shipped site, with its bus's timing. */
async function siteInstances(file: string): Promise<Instance[]> {
  const loaded = await loadConfigFile(file, { knownProfiles: knownProfiles(profiles) });
  if (!loaded.ok) throw new Error(`${file} does not load`);
  const instances: Instance[] = [];
  for (const d of loaded.config.devices) {
    if (d.protocol !== 'modbus' || d.unit === undefined || d.profile === undefined) continue;
    const profile = profiles.get(d.profile)!;
    const timing = lineTimingOf(loaded.config.buses.find((b) => b.id === d.bus)!);
    const points = selectPoints(d.id, profile.id, profile.points, d.points);
    for (const fn of [1, 2, 3, 4] as ReadFunction[]) {
      const group = points.filter((p) => FUNCTION_OF[p.kind] === fn);
      if (group.length > 0) instances.push({ input: inputOf(d.unit, fn, group.map((p) => ({ address: p.address, count: pointWidth(p) })), profile), timing });
    }
  }
  return instances;
}

function inputOf(unit: number, fn: ReadFunction, wanted: PlanInput['wanted'], profile: Profile): PlanInput {
  const bits = fn === 1 || fn === 2;
  return {
    unit,
    fn,
    wanted,
    maxPerRead: bits ? profile.limits.maxBitsPerRead : profile.limits.maxRegistersPerRead,
    refused: profile.limits.refuse.filter((r) => FUNCTION_OF[r.kind] === fn).map((r) => ({ start: r.start, end: r.end })),
    turnaroundMs: profile.limits.turnaroundMs,
  };
}

/** Seeded scattered registers: 1- and 2-register values over 0-399, 20 ms turnaround, 125 registers per read. */
function scattered(count: number, minRanges: number, maxRanges: number, seed: number): Instance[] {
  const random = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  return Array.from({ length: count }, () => {
    const n = int(minRanges, maxRanges);
    const wanted = Array.from({ length: n }, () => ({ address: int(0, 399), count: int(1, 2) }));
    return { input: { unit: 1, fn: 3 as const, wanted, maxPerRead: 125, refused: [], turnaroundMs: 20 }, timing: RTU };
  });
}


// ---------------------------------------------------------------------------------------------------------
// (b) and (c): a real pty, the paced RTU simulator, the gateway's bus and drivers
// ---------------------------------------------------------------------------------------------------------

const HEALTHY: readonly { unit: number; profile: string }[] = [
  { unit: 1, profile: 'eastron-sdm630' },
  { unit: 2, profile: 'soil-dfrobot' },
  { unit: 3, profile: 'soil-sensecap' },
  { unit: 4, profile: 'eastron-sdm120' },
];
const DEAD = { unit: 5, profile: 'soil-dfrobot' };
/** Bus settings of the line: the config defaults for retries, a timeout of a few replies' length. */
const TIMEOUT_MS = 500;
const RETRIES = 1;
const POLL_MS = 1000;
const CYCLES = 20;

interface Line {
  readonly drivers: ModbusDeviceDriver[];
  readonly bus: ModbusBus;
  close(): Promise<void>;
}

async function openLine(devices: readonly { unit: number; profile: string }[], silent: readonly number[]): Promise<Line> {
  const pair = await createPtyPair();
  const sim = await startModbusRtuSimulator({
    path: pair.b,
    baud: BAUD,
    parity: 'none',
    dataBits: 8,
    stopBits: 1,
    paced: true,
    devices: devices.map((d) => ({ unit: d.unit, profile: profiles.get(d.profile)! })),
  });
  for (const unit of silent) sim.faults.set(unit, { kind: 'silent' });
  const bus = new ModbusBus({
    id: 'bench',
    endpoint: { type: 'serial', port: pair.a, baud: BAUD, parity: 'none', dataBits: 8, stopBits: 1 },
    timeoutMs: TIMEOUT_MS,
    retries: RETRIES,
    interFrameMs: t35Ms(BAUD),
    logger: silentLogger(),
  });
  const drivers = devices.map((d) => {
    const profile = profiles.get(d.profile)!;
    return new ModbusDeviceDriver({
      deviceId: `${d.profile}-${d.unit}`,
      unit: d.unit,
      pollMs: POLL_MS,
      profile,
      points: profile.points,
      bus,
      timing: RTU,
      logger: silentLogger(),
    });
  });
  return {
    drivers,
    bus,
    close: async () => {
      for (const d of drivers) await d.stop();
      await bus.close();
      await sim.close();
      await pair.close();
    },
  };
}

const cycleWireMs = (d: ModbusDeviceDriver, profile: Profile): number => planCostMs(d.currentPlan.reads, RTU, profile.limits.turnaroundMs);

async function wallPart(): Promise<number> {
  const line = await openLine(HEALTHY, []);
  try {
    for (const d of line.drivers) await d.pollOnce(); // opens the port, warms the code paths
    const wireMs = line.drivers.reduce((sum, d, i) => sum + cycleWireMs(d, profiles.get(HEALTHY[i]!.profile)!), 0);
    const wallMs: number[] = [];
    let bad = 0;
    for (let c = 0; c < CYCLES; c++) {
      const start = performance.now();
      for (const d of line.drivers) bad += (await d.pollOnce()).filter((r) => r.quality !== 'good').length;
      wallMs.push(performance.now() - start);
    }
    const requests = line.drivers.reduce((n, d) => n + d.currentPlan.reads.length, 0);
    log(`\n(b) one poll cycle of ${HEALTHY.length} devices (${requests} requests) on the paced RTU simulator, ${BAUD} 8N1, ${CYCLES} cycles back to back`);
    printTable([
      { measure: 'wire time (sum of requestCostMs)', ms: wireMs },
      { measure: 'wall time, median', ms: median(wallMs) },
      { measure: 'wall time, best', ms: Math.min(...wallMs) },
      { measure: 'wall time, worst', ms: Math.max(...wallMs) },
      { measure: 'bad readings', ms: bad },
    ]);
    return median(wallMs) / wireMs;
  } finally {
    await line.close();
  }
}

/** Good cycles per second of the healthy devices, counted after `warmupS`. */
async function healthyRate(withDead: boolean, seconds: number, warmupS: number): Promise<{ rate: number; probes: number; stats: string }> {
  const devices = withDead ? [...HEALTHY, DEAD] : HEALTHY;
  const line = await openLine(devices, withDead ? [DEAD.unit] : []);
  const healthyIds = new Set(line.drivers.slice(0, HEALTHY.length).map((d) => d.id));
  const startedAt = Date.now();
  let good = 0;
  let probesAfterWarmup = 0;
  const dead = withDead ? line.drivers[HEALTHY.length] : undefined;
  const warm = setTimeout(() => (probesAfterWarmup = -(dead?.stats().probes ?? 0)), warmupS * 1000);
  const sink = (readings: readonly Reading[]) => {
    const first = readings[0];
    if (!first || !healthyIds.has(first.device) || Date.now() - startedAt < warmupS * 1000) return;
    if (readings.every((r) => r.quality === 'good')) good += 1;
  };
  try {
    for (const d of line.drivers) await d.start(sink);
    await new Promise((r) => setTimeout(r, seconds * 1000));
    probesAfterWarmup += dead?.stats().probes ?? 0;
    const deadStats = withDead ? line.drivers[HEALTHY.length]!.stats() : undefined;
    const stats = deadStats ? `dead device: ${deadStats.cycles} full cycles, then ${deadStats.probes} probes` : '';
    return { rate: good / (seconds - warmupS) / HEALTHY.length, probes: probesAfterWarmup, stats };
  } finally {
    clearTimeout(warm);
    await line.close();
  }
}

async function deadDevicePart(seconds: number): Promise<number> {
  const warmupS = Math.min(15, seconds / 4);
  const healthy = await healthyRate(false, seconds, warmupS);
  const withDead = await healthyRate(true, seconds, warmupS);
  const slowdown = Math.max(0, 1 - withDead.rate / healthy.rate);
  log(
    `\n(c) healthy devices' good cycles per second each (poll ${POLL_MS} ms, timeout ${TIMEOUT_MS} ms, retries ${RETRIES}), ` +
      `seconds ${warmupS.toFixed(0)}-${seconds} of a ${seconds} s run`,
  );
  printTable([
    { line: `${HEALTHY.length} healthy devices`, 'cycles/s per device': healthy.rate, note: '' },
    { line: `${HEALTHY.length} healthy + 1 silent`, 'cycles/s per device': withDead.rate, note: withDead.stats },
  ]);
  const lost = (healthy.rate - withDead.rate) * (seconds - warmupS) * HEALTHY.length;
  log(
    `slowdown ${(slowdown * 100).toFixed(1)}%: ${lost.toFixed(0)} healthy cycles lost to ${withDead.probes} probes of the dead device ` +
      `after the warm-up (each probe holds the line up to ${TIMEOUT_MS} ms; backoff doubles up to 5 min, so the steady-state loss shrinks with run length)`,
  );
  return slowdown;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
