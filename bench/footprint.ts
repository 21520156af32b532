/**
 * `npm run bench -- footprint [siteMinutes=10] [cpuSeconds=60] [rounds=2]`: the gateway's footprint
 * (cpuSeconds 0 skips part 1).
 *
 * Passerelle runs with the Node options of its systemd unit (deploy/passerelle.service), as deployed.
 *
 * 1. CPU per Modbus request, side by side on one paced Modbus TCP simulator (an Eastron SDM630): a bare
 *    `modbus-serial` client, Passerelle (`dist/cli/main.js run`: full pipeline, store, uplink to a local
 *    Mosquitto) and stock Node-RED with node-red-contrib-modbus (flows generated here), each doing the
 *    same two reads (10 and 2 input registers, too far apart to merge) every POLL_MS (100 ms), one after the other, `rounds` times
 *    interleaved. CPU is utime+stime of the process (/proc/PID/stat), requests are counted by the
 *    simulator, both over the same `cpuSeconds` after a warm-up.
 * 2. RSS of a bare Node process (an idle timer), the reference for memory.
 * 3. A 50-point site (four simulated SDM630, 10 s polls, 5-minute windows, default store settings) run
 *    for `siteMinutes`: its RSS at the end, the bytes it sent to storage (`write_bytes` of /proc/PID/io
 *    from 20 s after start to its exit, the shutdown's checkpoint included) and its fsync/fdatasync
 *    calls over the same span (strace, which attaches to the running process and also sees which file
 *    each write went to: the log, the database, or neither, i.e. the kernel writing back the WAL index).
 * 4. The same site's store for STORE_DAYS days at full speed (bench/lib/store-days.ts): what the
 *    autocheckpoints and, past the first week, the retention write per day, which a run of minutes
 *    cannot show. The day figure (`flashMBPerDay`) is the worst of days 8 to STORE_DAYS (retention on),
 *    plus what part 3 measured in real time that went neither to the log nor to the database (the
 *    writeback of a shared WAL index, the one write a full-speed run does not reproduce; the gateway
 *    keeps that index in memory now, so this should be near 0), plus one shutdown a day (part 3's stop:
 *    a gateway restarts far less often).
 *
 * Needs `npm run build` first (it runs dist/, as a gateway does), mosquitto and strace.
 * Last line: {"bench":"footprint","cpuPerRequestOverBareClient":…,"cpuPerRequestOverNodeRedContrib":…,
 * "rssOverBareNode":…,"flashMBPerDay":…,"fsyncPerMin":…}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadProfiles } from '../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../src/sim/modbus-tcp.js';
import { startMosquitto } from '../tests/helpers/brokers.js';
import { median, printResult, printTable, round3 } from './lib/report.js';
import type { StoreDays } from './lib/store-days.js';

const ROOT = join(import.meta.dirname, '..');
const HOST = '127.0.0.1';
const CLK_TCK = 100;
const WARMUP_MS = 10_000;
/**
 * The poll period of the CPU part. The simulated meter takes its profile's 20 ms to answer each read, so
 * a pair of reads takes a little over 40 ms: at 50 ms Passerelle, which never overlaps two cycles of one
 * device, absorbed every other tick (20 requests/s) while the bare client piled new reads onto late ones
 * (34/s), and fixed per-second costs were then shared by different request counts. At 100 ms every
 * contender makes the same 20 requests per second: CPU per request at the same request rate.
 */
const POLL_MS = 100;
const SITE_SETTLE_MS = 20_000;
/** Past the default 7-day retention: days 8 to 10 are a gateway in steady state, deleting what it adds. */
const STORE_DAYS = 10;
const FIRST_DAY_PAST_RETENTION = 8;
const DAY_MS = 86_400_000;
/** The reads every contender makes each poll: what Passerelle's planner makes of the points below. */
const READS = [
  { address: 0x0000, count: 10 },
  { address: 0x0156, count: 2 },
] as const;
const CPU_POINTS = ['voltage_l1', 'voltage_l2', 'voltage_l3', 'current_l1', 'current_l2', 'energy_total'];
const SDM630_POINTS = ['voltage_l1', 'voltage_l2', 'voltage_l3', 'current_l1', 'current_l2', 'current_l3', 'power_l1', 'power_l2', 'power_l3', 'power_total', 'frequency', 'energy_import', 'energy_export'];
/** 13 + 13 + 12 + 12 = 50 points. */
const SITE_POINTS = [13, 13, 12, 12];

type Contender = 'bare modbus-serial' | 'passerelle' | 'node-red + contrib-modbus';

interface CpuSample {
  readonly contender: Contender;
  readonly round: number;
  readonly requestsPerSecond: number;
  readonly cpuMsPerRequest: number;
  readonly rssMB: number;
}

export async function run(args: string[]): Promise<void> {
  const siteMinutes = Number(args[0] ?? 10);
  const cpuSeconds = Number(args[1] ?? 60);
  const rounds = Number(args[2] ?? 2);
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) throw new Error('footprint runs the built gateway: npm run build first');
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-footprint-'));
  const profile = loadProfiles().get('eastron-sdm630')!;
  const broker = await startMosquitto();
  const sim = await startModbusTcpSimulator({ host: HOST, port: 0, devices: [1, 2, 3, 4].map((unit) => ({ unit, profile })) });
  try {
    const withNodeRed = existsSync(join(ROOT, 'node_modules/node-red/red.js')) && existsSync(join(ROOT, 'node_modules/node-red-contrib-modbus'));
    const contenders: Contender[] = ['bare modbus-serial', 'passerelle', ...(withNodeRed ? (['node-red + contrib-modbus'] as const) : [])];
    const samples: CpuSample[] = [];
    for (let round = 1; round <= (cpuSeconds > 0 ? rounds : 0); round++) {
      for (const contender of contenders) {
        const sample = await measureCpu(contender, round, cpuSeconds, { dir, sim, brokerUrl: broker.url });
        process.stdout.write(`round ${round} ${contender}: ${sample.requestsPerSecond.toFixed(1)} req/s, ${sample.cpuMsPerRequest.toFixed(3)} ms CPU/request, ${sample.rssMB.toFixed(0)} MB RSS\n`);
        samples.push(sample);
      }
    }
    const bareRss = await bareNodeRss();
    process.stdout.write(`bare node: ${bareRss.toFixed(0)} MB RSS; now the 50-point site for ${siteMinutes} min\n`);
    const site = await measureSite(siteMinutes, { dir, sim, brokerUrl: broker.url });
    const days = await storeDays(dir);
    const worstDayPastRetention = Math.max(...days.perDayMB.slice(FIRST_DAY_PAST_RETENTION - 1));
    const flashMBPerDay = worstDayPastRetention + site.indexWritebackMBPerDay + site.shutdownKB / 1000;
    process.stdout.write(`store days at full speed, MB/day: ${days.perDayMB.map((d) => d.toFixed(1)).join(' ')}\n`);

    const cpuOf = (c: Contender) => samples.filter((s) => s.contender === c).map((s) => s.cpuMsPerRequest);
    const ratios = (over: Contender) =>
      Array.from({ length: samples.length > 0 ? rounds : 1 }, (_, i) => {
        const mine = samples.find((s) => s.contender === 'passerelle' && s.round === i + 1);
        const theirs = samples.find((s) => s.contender === over && s.round === i + 1);
        return mine && theirs ? mine.cpuMsPerRequest / theirs.cpuMsPerRequest : NaN;
      });
    const overBare = ratios('bare modbus-serial');
    const overNodeRed = withNodeRed ? ratios('node-red + contrib-modbus') : [NaN];
    printTable([
      ...contenders.map((c) => ({
        what: c,
        'CPU ms/request (median)': median(cpuOf(c)),
        'spread min-max': `${Math.min(...cpuOf(c)).toFixed(3)}-${Math.max(...cpuOf(c)).toFixed(3)}`,
        'req/s': median(samples.filter((s) => s.contender === c).map((s) => s.requestsPerSecond)),
        'RSS MB': median(samples.filter((s) => s.contender === c).map((s) => s.rssMB)),
      })),
      { what: 'passerelle / bare client', 'CPU ms/request (median)': median(overBare), 'spread min-max': spread(overBare) },
      { what: 'passerelle / node-red', 'CPU ms/request (median)': median(overNodeRed), 'spread min-max': spread(overNodeRed) },
      { what: 'bare node (idle timer)', 'RSS MB': bareRss },
      { what: `50-point site, ${siteMinutes} min`, 'RSS MB': site.rssMB },
      { what: `site, ${siteMinutes} min real time: MB/day, the stop counted once in the span`, 'CPU ms/request (median)': site.flashMBPerDay },
      { what: 'site: MB/day steady (before the stop)', 'CPU ms/request (median)': site.steadyFlashMBPerDay },
      { what: 'site: of which the log, MB/day', 'CPU ms/request (median)': site.logMBPerDay },
      { what: 'site: of which neither (a WAL index writeback, if any), MB/day', 'CPU ms/request (median)': site.indexWritebackMBPerDay },
      { what: 'site: KB written by the stop', 'CPU ms/request (median)': site.shutdownKB },
      { what: 'site: fsync per min', 'CPU ms/request (median)': site.fsyncPerMin },
      { what: 'store at full speed: day 1, MB', 'CPU ms/request (median)': days.perDayMB[0] ?? NaN },
      { what: `store at full speed: worst of days ${FIRST_DAY_PAST_RETENTION}-${STORE_DAYS}, MB`, 'CPU ms/request (median)': worstDayPastRetention },
      { what: 'flash MB/day: worst day + neither + one stop', 'CPU ms/request (median)': flashMBPerDay },
    ]);
    printResult('footprint', {
      cpuPerRequestOverBareClient: round3(median(overBare)),
      cpuPerRequestOverNodeRedContrib: round3(median(overNodeRed)),
      rssOverBareNode: round3(site.rssMB / bareRss),
      flashMBPerDay: round3(flashMBPerDay),
      fsyncPerMin: round3(site.fsyncPerMin),
    });
  } finally {
    await sim.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Env {
  readonly dir: string;
  readonly sim: ModbusTcpSimulator;
  readonly brokerUrl: string;
}

async function measureCpu(contender: Contender, round: number, seconds: number, env: Env): Promise<CpuSample> {
  const child = await startContender(contender, `${contender.replace(/\W+/g, '-')}-${round}`, env);
  try {
    await sleep(WARMUP_MS);
    const before = { cpu: cpuTicks(child.pid!), requests: unitRequests(env.sim, 1), at: Date.now() };
    await sleep(seconds * 1000);
    const after = { cpu: cpuTicks(child.pid!), requests: unitRequests(env.sim, 1), at: Date.now() };
    const requests = after.requests - before.requests;
    if (requests === 0) throw new Error(`${contender} made no request: ${child.stderrTail()}`);
    return {
      contender,
      round,
      requestsPerSecond: (requests * 1000) / (after.at - before.at),
      cpuMsPerRequest: ((after.cpu - before.cpu) * (1000 / CLK_TCK)) / requests,
      rssMB: rssMB(child.pid!),
    };
  } finally {
    await child.stop();
  }
}

interface Running {
  readonly pid: number | undefined;
  stderrTail(): string;
  stop(): Promise<void>;
}

async function startContender(contender: Contender, name: string, env: Env): Promise<Running> {
  const dir = join(env.dir, name);
  mkdirSync(dir, { recursive: true });
  if (contender === 'bare modbus-serial') return launch(process.execPath, ['--input-type=module', '-e', bareClientScript(env.sim.port)]);
  if (contender === 'passerelle') {
    const config = cpuSiteConfig(dir, env);
    writeFileSync(join(dir, 'site.json'), JSON.stringify(config));
    return launch(process.execPath, [...gatewayNodeFlags(), join(ROOT, 'dist/cli/main.js'), 'run', '--config', join(dir, 'site.json')], gatewayEnv());
  }
  const port = await freePort();
  writeFileSync(join(dir, 'flows.json'), JSON.stringify(nodeRedFlows(env.sim.port)));
  writeFileSync(join(dir, 'settings.js'), `module.exports = { uiHost: '127.0.0.1', uiPort: ${port}, flowFile: ${JSON.stringify(join(dir, 'flows.json'))}, credentialSecret: false, logging: { console: { level: 'warn' } } };\n`);
  return launch(process.execPath, [join(ROOT, 'node_modules/node-red/red.js'), '--userDir', dir, '--settings', join(dir, 'settings.js')]);
}

function launch(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Running {
  const child: ChildProcess = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid: child.pid,
    stderrTail: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function bareClientScript(port: number): string {
  const reads = READS.map((r) => `await client.readInputRegisters(${r.address}, ${r.count});`).join(' ');
  return `import ModbusRTU from 'modbus-serial';
const client = new ModbusRTU();
await client.connectTCP('${HOST}', { port: ${port} });
client.setID(1);
client.setTimeout(1000);
setInterval(async () => { try { ${reads} } catch {} }, ${POLL_MS});
process.on('SIGTERM', () => { client.close(() => process.exit(0)); });`;
}

function cpuSiteConfig(dir: string, env: Env): object {
  return {
    site: { id: 'bench', name: 'Footprint bench', timezone: 'Europe/Paris', clock: { trust: 'always' } },
    gateway: { id: 'gw' },
    buses: [{ id: 'plant', type: 'tcp', host: HOST, port: env.sim.port, timeout: '1s' }],
    devices: [{ id: 'meter', bus: 'plant', unit: 1, profile: 'eastron-sdm630', poll: `${POLL_MS}ms`, points: CPU_POINTS }],
    aggregation: { window: '1m' },
    store: { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') },
    uplink: { broker: env.brokerUrl },
    policy: { allow: [{ match: 'meter.*', statistics: ['mean', 'min', 'max'] }], health: ['buses', 'store', 'drops', 'clock'] },
  };
}

export function siteConfig(dir: string, env: Pick<Env, 'sim' | 'brokerUrl'>): object {
  return {
    site: { id: 'bench', name: 'Footprint bench, 50 points', timezone: 'Europe/Paris', clock: { trust: 'always' } },
    gateway: { id: 'gw' },
    buses: [{ id: 'plant', type: 'tcp', host: HOST, port: env.sim.port, timeout: '1s' }],
    devices: SITE_POINTS.map((n, i) => ({ id: `meter${i + 1}`, bus: 'plant', unit: i + 1, profile: 'eastron-sdm630', poll: '10s', points: SDM630_POINTS.slice(0, n) })),
    aggregation: { window: '5m' },
    store: { path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') },
    uplink: { broker: env.brokerUrl },
    policy: { allow: [{ match: '*.*', statistics: ['mean', 'min', 'max'] }], health: ['buses', 'store', 'drops', 'clock'] },
  };
}

/** One modbus-client and one modbus-read per read, polling every POLL_MS, no output node: the bare minimum. */
function nodeRedFlows(port: number): object[] {
  const tab = { id: 'tab1', type: 'tab', label: 'footprint' };
  const client = {
    id: 'client1',
    type: 'modbus-client',
    name: 'sim',
    clienttype: 'tcp',
    bufferCommands: true,
    stateLogEnabled: false,
    queueLogEnabled: false,
    failureLogEnabled: false,
    tcpHost: HOST,
    tcpPort: String(port),
    tcpType: 'DEFAULT',
    unit_id: '1',
    commandDelay: '1',
    clientTimeout: '1000',
    reconnectOnTimeout: true,
    reconnectTimeout: '2000',
    parallelUnitIdsAllowed: true,
  };
  const readers = READS.map((r, i) => ({
    id: `read${i + 1}`,
    type: 'modbus-read',
    z: 'tab1',
    name: `read ${r.address}`,
    topic: '',
    showStatusActivities: false,
    logIOActivities: false,
    showErrors: false,
    unitid: '1',
    dataType: 'InputRegister',
    adr: String(r.address),
    quantity: String(r.count),
    rate: String(POLL_MS),
    rateUnit: 'ms',
    delayOnStart: false,
    startDelayTime: '',
    server: 'client1',
    useIOFile: false,
    ioFile: '',
    useIOForPayload: false,
    emptyMsgOnFail: false,
    x: 200,
    y: 100 + 60 * i,
    wires: [[], []],
  }));
  return [tab, client, ...readers];
}

interface SiteFigures {
  readonly rssMB: number;
  /** From 20 s after start to the process's exit: the shutdown (last batch, partial windows, full checkpoint) included once. */
  readonly flashMBPerDay: number;
  /** The same span without the shutdown: steady state, checkpoints not included unless SQLite ran one. */
  readonly steadyFlashMBPerDay: number;
  readonly shutdownKB: number;
  readonly fsyncPerMin: number;
  /** Steady span: what went to the write-ahead log, and what went to no file the process wrote (the WAL index's writeback). */
  readonly logMBPerDay: number;
  readonly indexWritebackMBPerDay: number;
}

async function measureSite(minutes: number, env: Env): Promise<SiteFigures> {
  const dir = join(env.dir, 'site');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'site.json'), JSON.stringify(siteConfig(dir, env)));
  const ioReport = join(dir, 'io-at-exit');
  const hook = join(dir, 'io-at-exit.mjs');
  // Reads /proc/self/io as the process exits, after the store's last checkpoint.
  writeFileSync(hook, `import { readFileSync, writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(ioReport)}, readFileSync('/proc/self/io')));\n`);
  const child = launch(process.execPath, [...gatewayNodeFlags(), '--import', hook, join(ROOT, 'dist/cli/main.js'), 'run', '--config', join(dir, 'site.json')], gatewayEnv());
  await sleep(SITE_SETTLE_MS);
  const pid = child.pid!;
  const startBytes = writeBytes(readFileSync(`/proc/${pid}/io`, 'latin1'));
  const started = Date.now();
  const straceOut = join(dir, 'strace.txt');
  const strace = spawn('strace', ['-f', '-ttt', '-y', '--seccomp-bpf', '-e', 'trace=pwrite64,fsync,fdatasync', '-e', 'signal=none', '-o', straceOut, '-p', String(pid)], { stdio: 'ignore' });
  const straceDone = new Promise<void>((resolve) => strace.once('exit', () => resolve()));
  await sleep(minutes * 60_000);
  const rss = rssMB(pid);
  const beforeStop = writeBytes(readFileSync(`/proc/${pid}/io`, 'latin1'));
  const stopAt = Date.now();
  const steadyMs = stopAt - started;
  await child.stop();
  const elapsed = Date.now() - started;
  await straceDone;
  const endBytes = writeBytes(readFileSync(ioReport, 'latin1'));
  const trace = readFileSync(straceOut, 'latin1');
  const fsyncs = syncCalls(trace);
  const storeFiles = storeFileBytes(trace, stopAt / 1000);
  const perDay = (bytes: number) => (bytes / 1e6) * (DAY_MS / steadyMs);
  return {
    logMBPerDay: perDay(storeFiles.log),
    indexWritebackMBPerDay: perDay(Math.max(0, beforeStop - startBytes - storeFiles.log - storeFiles.database)),
    rssMB: rss,
    flashMBPerDay: ((endBytes - startBytes) / 1e6) * (DAY_MS / elapsed),
    steadyFlashMBPerDay: ((beforeStop - startBytes) / 1e6) * (DAY_MS / steadyMs),
    shutdownKB: (endBytes - beforeStop) / 1024,
    fsyncPerMin: fsyncs / (elapsed / 60_000),
  };
}

/** The environment of the gateway's systemd unit (its `Environment=` lines) over the bench's own. */
export function gatewayEnv(): NodeJS.ProcessEnv {
  const unit = readFileSync(join(ROOT, 'deploy/passerelle.service'), 'latin1');
  const pairs = [...unit.matchAll(/^Environment=(\S+?)=(\S*)$/gm)].map((m) => [m[1]!, m[2]!] as const);
  return { ...process.env, ...Object.fromEntries(pairs) };
}

/** The Node options of the gateway's systemd unit (deploy/passerelle.service): the bench runs it as deployed. */
export function gatewayNodeFlags(): string[] {
  const execStart = /^ExecStart=(.*)$/m.exec(readFileSync(join(ROOT, 'deploy/passerelle.service'), 'latin1'))?.[1] ?? '';
  const args = execStart.split(/\s+/);
  return args.slice(1, args.findIndex((a) => a.endsWith('dist/cli/main.js'))).filter((a) => a.startsWith('--'));
}

export async function bareNodeRss(): Promise<number> {
  const child = launch(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  await sleep(3000);
  const rss = rssMB(child.pid!);
  await child.stop();
  return rss;
}

const unitRequests = (sim: ModbusTcpSimulator, unit: number): number => sim.stats().units[unit]?.requests ?? 0;

/** utime + stime of all the process's threads, in clock ticks (/proc/PID/stat fields 14 and 15). */
export function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export function rssMB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return match ? Number(match[1]) / 1024 : NaN;
}

const writeBytes = (io: string): number => Number(/^write_bytes:\s*(\d+)$/m.exec(io)?.[1] ?? NaN);

/** fsync and fdatasync calls in a strace log. */
function syncCalls(trace: string): number {
  return trace.split('\n').filter((line) => /\bf(data)?sync\(/.test(line)).length;
}

const OS_PAGE = 4096;

/**
 * Bytes the kernel counts for the store's writes before `until` (epoch s): the 4 KiB pages each write
 * dirtied in the log and in the database file, once per sync (a page cleaned by an fsync and written
 * again is counted again, as write_bytes does).
 */
function storeFileBytes(trace: string, until: number): { log: number; database: number } {
  const dirty = new Map<string, Set<number>>();
  const counted = { log: 0, database: 0 };
  const kind = (file: string): keyof typeof counted | undefined => (file.endsWith('.db-wal') ? 'log' : file.endsWith('.db') ? 'database' : undefined);
  const flush = (file: string) => {
    const k = kind(file);
    if (k) counted[k] += (dirty.get(file)?.size ?? 0) * OS_PAGE;
    dirty.delete(file);
  };
  for (const line of trace.split('\n')) {
    const at = Number(/^\d+\s+(\d+\.\d+)/.exec(line)?.[1]);
    if (!(at < until)) continue;
    const write = /pwrite64\(\d+<([^>]+)>, .*, (\d+), (\d+)\) = (\d+)/.exec(line);
    if (write) {
      const [, file, , offset, written] = write;
      const pages = dirty.get(file!) ?? new Set<number>();
      for (let p = Math.floor(Number(offset) / OS_PAGE); p <= Math.floor((Number(offset) + Number(written) - 1) / OS_PAGE); p++) pages.add(p);
      dirty.set(file!, pages);
      continue;
    }
    const sync = /f(?:data)?sync\(\d+<([^>]+)>\)/.exec(line);
    if (sync) flush(sync[1]!);
  }
  for (const file of [...dirty.keys()]) flush(file);
  return counted;
}

/** Part 4, in a process of its own so that its write_bytes are the store's alone. */
async function storeDays(dir: string): Promise<StoreDays> {
  const daysDir = join(dir, 'store-days');
  mkdirSync(daysDir, { recursive: true });
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/store-days.ts'), daysDir, String(STORE_DAYS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`store days exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as StoreDays;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const spread = (values: readonly number[]): string => `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`;
