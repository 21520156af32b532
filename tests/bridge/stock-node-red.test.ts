/**
 * The node module as a technician installs it in a Node-RED of their own: `npm pack`, the tarball
 * installed into a fresh userDir's node_modules, a stock Node-RED 4.1 (no Passerelle settings), the
 * socket named in the config node. The nodes register and a read works against the gateway's socket.
 * Also: the example flows in flows/ are the ones the module ships.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { NODE_MODULE_DIR, startNodeRed, type NodeRedRuntime } from '../helpers/node-red.js';

const profiles = loadProfiles();
let dir: string;
let sim: ModbusTcpSimulator;
let gateway: Gateway;
let red: NodeRedRuntime;
let packed: string[];
const socketPath = () => join(dir, 'bridge.sock');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'passerelle-stock-'));
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.nodes.json']);
  const pack = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: NODE_MODULE_DIR, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
  packed = pack[0]!.files.map((f) => f.path);
  const userDir = join(dir, 'user');
  await mkdir(userDir);
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--prefix', userDir, join(dir, pack[0]!.filename)], { stdio: 'ignore' });
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('soil-dfrobot')! }] });
  const config = configSchema.parse({
    site: { id: 'stock', name: 'Stock', clock: { trust: 'always' } },
    gateway: { id: 'gw' },
    buses: [{ id: 'plant', type: 'tcp', host: '127.0.0.1', port: sim.port }],
    devices: [{ id: 'soil', bus: 'plant', unit: 1, profile: 'soil-dfrobot', poll: '10s', points: ['moisture'] }],
    store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
  });
  gateway = new Gateway({ config, profiles, logger: silentLogger(), bridge: { socketPath: socketPath() } });
  await gateway.start();
  red = await startNodeRed({ dir: userDir, socketPath: socketPath(), nodesDir: null, stock: true });
}, 180_000);

afterAll(async () => {
  await red?.stop();
  await gateway?.stop();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('node-red-contrib-passerelle in a stock Node-RED', () => {
  it('packs the compiled nodes, their help, icon and examples', () => {
    expect(packed).toEqual(expect.arrayContaining(['package.json', 'nodes/passerelle.js', 'nodes/client.js', 'nodes/passerelle.html', 'nodes/icons/passerelle.svg', 'examples/dry-soil-alert.json']));
  });

  it('registers its five nodes and reads a point through the socket named in the config node', async () => {
    const nodes = (await red.get('/nodes')) as { module: string; types: string[] }[];
    const types = nodes.filter((n) => n.module === 'node-red-contrib-passerelle').flatMap((n) => n.types);
    expect(types.sort()).toEqual(['passerelle in', 'passerelle point', 'passerelle read', 'passerelle write', 'passerelle-gateway']);
    const z = 'tab';
    await red.deploy([
      { id: z, type: 'tab', label: 'stock' },
      { id: 'gw', type: 'passerelle-gateway', name: 'this gateway', socket: socketPath() },
      { id: 'in', type: 'http in', z, name: '', url: '/read', method: 'get', upload: false, swaggerDoc: '', x: 100, y: 100, wires: [['rd']] },
      { id: 'rd', type: 'passerelle read', z, name: '', gateway: 'gw', mode: 'point', device: 'soil', point: 'moisture', x: 300, y: 100, wires: [['out']] },
      { id: 'out', type: 'http response', z, name: '', statusCode: '', headers: {}, x: 500, y: 100, wires: [] },
      { id: 'catch', type: 'catch', z, name: '', scope: ['rd'], uncaught: false, x: 100, y: 200, wires: [['err']] },
      { id: 'err', type: 'function', z, name: '', func: 'msg.statusCode = 503; msg.payload = msg.error; return msg;', outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], x: 300, y: 200, wires: [['out']] },
    ]);
    let res: Response | undefined;
    // The routes and the bridge connection come up just after the deploy.
    for (let i = 0; i < 50 && !res?.ok; i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await fetch(`${red.url}/read`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    }
    if (!res?.ok) console.log('NODE-RED LOG', red.log());
    expect({ status: res?.status, body: res?.ok ? 'a value' : await res?.text() }).toEqual({ status: 200, body: 'a value' });
    const served = sim.banks.get(1)!.lastServed('moisture')!.value;
    expect(Number(await res!.text())).toBe(served);
  }, 60_000);
});

describe('example flows', () => {
  it('flows/ holds exactly the examples the module ships, each documented in its README', async () => {
    const shipped = (await readdir(join(NODE_MODULE_DIR, 'examples'))).sort();
    const repo = (await readdir('flows')).filter((f) => f.endsWith('.json')).sort();
    expect(shipped).toEqual(repo);
    const readme = await readFile('flows/README.md', 'utf8');
    for (const f of repo) {
      expect(await readFile(join(NODE_MODULE_DIR, 'examples', f), 'utf8')).toBe(await readFile(join('flows', f), 'utf8'));
      expect(readme).toContain(`\`${f}\``);
      expect(Array.isArray(JSON.parse(await readFile(join('flows', f), 'utf8')))).toBe(true);
    }
  });
});
