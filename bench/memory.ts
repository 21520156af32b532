/**
 * `npm run bench -- memory [minutes=10] [VARIANT_JSON…]`: where the 50-point site's memory goes over time
 * (issue 11 item 3, docs/memory.md "Third round").
 *
 * Runs footprint's 50-point site (four simulated SDM630, 10 s polls, 5-minute windows, Mosquitto) with
 * `passerelle run` (dist/) and the unit's Node options and environment, under bench/lib/memory-sampler.mjs:
 * every 30 s, RSS by mapping (node binary, malloc heap, anonymous, addons) and V8's heap spaces, no
 * forced GC. Several variants run side by side, started together on the same simulator and broker, so
 * that they can be compared despite the ±3 MB spread between runs. A variant is JSON:
 * `{"name":"no-opt","flags":["--no-opt"],"env":{"MALLOC_ARENA_MAX":"2"},"dist":"/path/to/other/dist","poll":"1s"}`
 * (flags are added after the unit's; dist defaults to this tree's; poll replaces the site's 10 s). With none: the unit as deployed.
 * Last line: {"bench":"memory","<name>RssMB":…} (RSS at the end, per variant).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadProfiles } from '../src/profiles/index.js';
import { startModbusTcpSimulator } from '../src/sim/modbus-tcp.js';
import { startMosquitto } from '../tests/helpers/brokers.js';
import { bareNodeRss, cpuTicks, gatewayEnv, gatewayNodeFlags, rssMB, siteConfig } from './footprint.js';
import { printResult, printTable } from './lib/report.js';

const ROOT = join(import.meta.dirname, '..');
const SAMPLER = join(import.meta.dirname, 'lib/memory-sampler.mjs');

interface Variant {
  readonly name: string;
  readonly flags?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly dist?: string;
  /** Every device's poll period instead of the site's 10 s, e.g. "1s": months of garbage in minutes. */
  readonly poll?: string;
}

interface Sample {
  readonly s: number;
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly smaps: Record<string, number>;
  readonly spaces: Record<string, { size: number; physical: number; used: number }>;
}

export async function run(args: string[]): Promise<void> {
  const minutes = Number(args[0] ?? 10);
  const variants: Variant[] = args.length > 1 ? args.slice(1).map((a) => JSON.parse(a) as Variant) : [{ name: 'unit' }];
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-memory-'));
  const profile = loadProfiles().get('eastron-sdm630')!;
  const broker = await startMosquitto();
  const sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [1, 2, 3, 4].map((unit) => ({ unit, profile })) });
  const children: ChildProcess[] = [];
  try {
    const bare = await bareNodeRss();
    const runs = variants.map((v) => {
      const vdir = join(dir, v.name);
      mkdirSync(vdir);
      const site = siteConfig(vdir, { sim, brokerUrl: broker.url }) as { devices: object[] };
      const devices = v.poll ? site.devices.map((d) => ({ ...d, poll: v.poll })) : site.devices;
      const config = { ...site, devices, gateway: { id: `gw-${v.name.toLowerCase()}` } };
      writeFileSync(join(vdir, 'site.json'), JSON.stringify(config));
      const samples = join(vdir, 'samples.jsonl');
      const main = join(v.dist ?? join(ROOT, 'dist'), 'cli/main.js');
      const child = spawn(process.execPath, [...gatewayNodeFlags(), ...(v.flags ?? []), '--import', SAMPLER, main, 'run', '--config', join(vdir, 'site.json')], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...gatewayEnv(), ...v.env, MEMORY_SAMPLES: samples },
      });
      children.push(child);
      return { variant: v, child, samples };
    });
    // CPU after the start's compilations, for variants that may cost some: side by side, same load.
    const warmMs = Math.min(60_000, minutes * 15_000);
    await sleep(warmMs);
    const cpuFrom = runs.map((r) => cpuTicks(r.child.pid!));
    await sleep(minutes * 60_000 - warmMs + 2_000);
    const finalRss = runs.map((r) => rssMB(r.child.pid!));
    const cpuMsPerMin = runs.map((r, i) => ((cpuTicks(r.child.pid!) - cpuFrom[i]!) * 10) / ((minutes * 60_000 - warmMs + 2_000) / 60_000));
    for (const r of runs) {
      const lines = readFileSync(r.samples, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Sample);
      process.stdout.write(`\n${r.variant.name} (${JSON.stringify(r.variant)}), bare node ${bare.toFixed(1)} MB\n`);
      printTable(lines.map(row));
    }
    process.stdout.write(`\n`);
    printTable(runs.map((r, i) => ({ variant: r.variant.name, 'RSS MB at end': finalRss[i]!, 'over bare node': finalRss[i]! / bare, 'CPU ms/min after 1st min': cpuMsPerMin[i]! })));
    printResult('memory', { bareNodeRssMB: bare, ...Object.fromEntries(runs.map((r, i) => [`${r.variant.name}RssMB`, Math.round(finalRss[i]! * 10) / 10])) });
  } finally {
    await Promise.all(children.map((c) => new Promise<void>((resolve) => (c.exitCode !== null ? resolve() : (c.once('exit', () => resolve()), c.kill('SIGTERM'))))));
    await sim.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One sample as a table row: RSS and its parts, then V8's spaces (physical MB; used MB for old space). */
function row(x: Sample): Record<string, number> {
  const sp = (name: string) => x.spaces[name] ?? { size: 0, physical: 0, used: 0 };
  const v8Physical = Object.values(x.spaces).reduce((sum, s) => sum + s.physical, 0);
  return {
    s: x.s,
    rss: x.rss,
    'node bin': x.smaps.node ?? 0,
    '[heap]': x.smaps.mallocHeap ?? 0,
    anon: x.smaps.anonymous ?? 0,
    'anon-v8': Math.round(((x.smaps.anonymous ?? 0) - v8Physical) * 10) / 10,
    addons: x.smaps.addons ?? 0,
    libs: x.smaps.libs ?? 0,
    'v8 phys': Math.round(v8Physical * 10) / 10,
    new: sp('new_space').physical,
    old: sp('old_space').physical,
    'old used': sp('old_space').used,
    code: sp('code_space').physical,
    map: sp('map_space').physical,
    lo: sp('large_object_space').physical,
    used: x.heapUsed,
    ext: x.external,
  };
}
