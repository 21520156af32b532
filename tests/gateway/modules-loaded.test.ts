/**
 * Issue 11 item 3: a running gateway holds only the code it uses. A module once loaded stays in memory for
 * as long as the process runs, so `passerelle run` on a plain Modbus TCP site must never load the other
 * commands, the demo, the simulators, the parts that are not configured (status page, bridge, remote
 * config, Node-RED), nor zod and yaml (the config is checked in a child process), nor mqtt.js's WebSocket and SOCKS
 * support, nor modbus-serial and serialport (serial lines only), nor mqtt-packet's table of 65 536 pre-built number buffers (about 8 MB of heap), and
 * creates no Intl.DateTimeFormat (ICU's data: about 8 MB of RSS) where tzdata gives the zone's offsets.
 * Real parts: the CLI in a child process, a Modbus TCP simulator, Mosquitto. An --import hook lists every
 * module the child loads (ESM through a load hook, CommonJS from require.cache) as it exits.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { startMosquitto } from '../helpers/brokers.js';
import { ROOT } from '../cli/cli.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The hooks: ESM URLs appended as they load (off-thread), then CommonJS files and the number cache at exit. */
async function writeProbe(dir: string, report: string): Promise<string> {
  const hooks = join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(`${report}.esm`)}, url + '\\n');
  return next(url, context);
}
`,
  );
  const probe = join(dir, 'probe.mjs');
  await writeFile(
    probe,
    `import { createRequire, register } from 'node:module';
import { writeFileSync } from 'node:fs';
register(${JSON.stringify(pathToFileURL(hooks).href)});
let formatters = 0;
Intl.DateTimeFormat = new Proxy(Intl.DateTimeFormat, {
  construct: (target, args) => (formatters++, Reflect.construct(target, args)),
  apply: (target, self, args) => (formatters++, Reflect.apply(target, self, args)),
});
const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});
process.on('exit', () => {
  const cjs = Object.keys(require.cache);
  const numbers = cjs.find((f) => f.endsWith('/mqtt-packet/numbers.js'));
  const cached = numbers ? Object.keys(require.cache[numbers].exports.cache).length : -1;
  writeFileSync(${JSON.stringify(`${report}.json`)}, JSON.stringify({ cjs, cached, formatters }));
});
`,
  );
  return probe;
}

describe('passerelle run on a Modbus TCP site', () => {
  it('loads neither other commands, nor unconfigured parts, nor the MQTT number cache, nor ICU date data', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-modules-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: loadProfiles().get('eastron-sdm630')! }] });
    cleanups.push(() => sim.close());
    const config = join(dir, 'site.yaml');
    await writeFile(
      config,
      `site: { id: s, name: S, clock: { trust: always } }
gateway: { id: g }
buses:
  - { id: lan, type: tcp, host: 127.0.0.1, port: ${sim.port} }
devices:
  - { id: meter, bus: lan, unit: 1, profile: eastron-sdm630, poll: 1s, points: [voltage_l1] }
aggregation: { window: 2s }
store: { path: ${dir}/s.db, keyFile: ${dir}/s.key }
uplink: { broker: "${broker.url}" }
policy:
  allow:
    - { match: meter.voltage_l1, statistics: [mean] }
`,
    );
    const report = join(dir, 'loaded');
    const probe = await writeProbe(dir, report);
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', probe, 'src/cli/main.ts', 'run', '--config', config], { cwd: ROOT });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const logged = (msg: string) => stdout.split('\n').some((l) => l.startsWith('{') && (JSON.parse(l) as { msg?: string }).msg === msg);
    const deadline = Date.now() + 40_000;
    while (!logged('window closed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(logged('broker connected')).toBe(true);
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    await closed;

    const { cjs, cached, formatters } = JSON.parse(await readFile(`${report}.json`, 'utf8')) as { cjs: string[]; cached: number; formatters: number };
    const esm = (await readFile(`${report}.esm`, 'utf8')).split('\n');
    const ours = esm
      .filter((u) => u.startsWith(pathToFileURL(join(ROOT, 'src')).href))
      .map((u) => u.slice(pathToFileURL(ROOT).href.length + 1));
    // The run itself was real: the gateway, its Modbus driver, store and uplink.
    expect(ours).toEqual(expect.arrayContaining(['src/cli/commands/run.ts', 'src/gateway/gateway.ts', 'src/drivers/modbus/modbus-driver.ts', 'src/uplink/mqtt-uplink.ts']));
    // drivers/serial: the TIC, SDI-12, line and M-Bus drivers, for a site that has such a device only.
    const unused = /^src\/(demo|sim|status|bridge|remote|nodered|report|drivers\/serial)\/|^src\/cli\/(doctor\/|commands\/(?!run\.ts|simulate-options\.ts))/; // the latter: option definitions only
    expect(ours.filter((f) => unused.test(f))).toEqual([]);
    const packages = new Set([...cjs, ...esm].map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)?.[1]));
    // ws, socks, ip-address: mqtt.js's WebSocket and SOCKS support, which an mqtt:// broker does not use;
    // modbus-serial and serialport: serial lines only (a TCP bus has its own client); zod and yaml: the
    // config is loaded and checked in a child process (gateway/site-in-child.ts).
    const serialOnly = ['modbus-serial', 'serialport', '@serialport/stream', '@serialport/bindings-cpp'];
    for (const name of ['cbor-x', 'aedes', 'node-red', 'bcryptjs', 'csv-parse', 'ws', 'socks', 'ip-address', ...serialOnly, 'zod', 'yaml']) expect(packages.has(name), name).toBe(false);
    expect(packages.has('mqtt-packet')).toBe(true);
    expect(cached).toBe(0);
    // Window bounds and the ledger's day come from tzdata (Europe/Paris, the default zone): no Intl formatter,
    // whose ICU data would cost about 8 MB of RSS.
    expect(formatters).toBe(0);
  }, 90_000);
});
