/**
 * `supervisor: systemd`: the packaged passerelle-nodered.service's root step (`prepareForUnit`) and then
 * Node-RED started exactly as the unit's ExecStart says, as an unprivileged user (nobody here,
 * passerelle-flows on a gateway), beside a real gateway that hosts the bridge but spawns no Node-RED:
 * the editor asks for a login, the Passerelle nodes reach the bridge socket, and that user cannot read
 * the store, its key or Node-RED's own password hash and credential key.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type NoderedConfig } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { noderedPaths } from '../../src/nodered/paths.js';
import { prepareForUnit, unitEnvFile, UNIT_REFUSED, UNIT_SKIP, UNIT_START } from '../../src/nodered/unit-prepare.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { freePort } from '../helpers/brokers.js';
import { ROOT } from '../cli/cli.js';
import { api, flow, noderedConfig, setPassword, waitForEditor } from './helpers.js';

const asRoot = process.geteuid?.() === 0;
const UNIT = readFileSync(join(ROOT, 'deploy', 'passerelle-nodered.service'), 'utf8');
const unitValues = (name: string) => UNIT.split('\n').filter((l) => l.startsWith(`${name}=`)).map((l) => l.slice(name.length + 1));
const id = (flag: string, name: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());

let dir: string;
const systemd = (over: Partial<NoderedConfig> = {}): NoderedConfig => ({ ...noderedConfig(dir, 1880, over), supervisor: 'systemd' });

describe('prepareForUnit: what the unit starts, skips or refuses', () => {
  beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), 'nr-unit-'))));
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('skips (1) without a section, disabled, or when the gateway runs Node-RED itself; refuses (255) when not root', () => {
    expect(prepareForUnit(undefined, 0)).toMatchObject({ code: UNIT_SKIP, message: expect.stringContaining('no nodered: section') });
    expect(prepareForUnit({ ...systemd(), enabled: false }, 0)).toMatchObject({ code: UNIT_SKIP });
    expect(prepareForUnit({ ...systemd(), supervisor: 'gateway' }, 0)).toMatchObject({ code: UNIT_SKIP, message: expect.stringContaining('supervisor: systemd') });
    expect(prepareForUnit(systemd(), 1000)).toMatchObject({ code: UNIT_REFUSED, message: expect.stringContaining('runs as root') });
  });

  it.runIf(asRoot)('skips while no password is set, refuses a root flows user', () => {
    expect(prepareForUnit(systemd())).toMatchObject({ code: UNIT_SKIP, message: expect.stringContaining('passerelle nodered passwd') });
    setPassword(systemd());
    expect(prepareForUnit(systemd({ runAs: 'root' }))).toMatchObject({ code: UNIT_REFUSED, message: expect.stringContaining('never runs with root rights') });
  });

  it.runIf(asRoot)('as root: settings for the flows group, keys root-only, user/ the flows user\'s, the heap for ExecStart', () => {
    const config = systemd({ maxOldSpaceMB: 200 });
    setPassword(config);
    expect(prepareForUnit(config)).toMatchObject({ code: UNIT_START });
    const p = noderedPaths(config);
    const [uid, gid] = [id('-u', 'nobody'), id('-g', 'nobody')];
    const owner = (f: string) => ({ uid: statSync(f).uid, gid: statSync(f).gid, mode: statSync(f).mode & 0o777 });
    expect(owner(p.dir)).toEqual({ uid: 0, gid, mode: 0o750 });
    expect(owner(p.settingsFile)).toEqual({ uid: 0, gid, mode: 0o640 });
    expect(owner(p.passwordFile)).toMatchObject({ uid: 0, mode: 0o600 });
    expect(owner(p.credentialKeyFile)).toMatchObject({ uid: 0, mode: 0o600 });
    expect(owner(p.userDir)).toEqual({ uid, gid, mode: 0o700 });
    expect(owner(unitEnvFile(p.dir))).toMatchObject({ uid: 0, mode: 0o600 });
    expect(readFileSync(unitEnvFile(p.dir), 'utf8')).toMatch(/^NODERED_HEAP_MB=200$/m);
  });
});

describe.runIf(asRoot)('Node-RED as the unit runs it, beside a gateway that only hosts the bridge', () => {
  let gateway: Gateway;
  let child: ChildProcess | undefined;
  let base: string;
  let config: NoderedConfig;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nr-unit-run-'));
    // The nodes' CommonJS, as the package build makes it.
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.nodes.json'], { cwd: ROOT });
    const run = join(dir, 'run');
    mkdirSync(run);
    chmodSync(run, 0o711); // RuntimeDirectoryMode of passerelle.service
    config = systemd({ port: await freePort(), socket: join(run, 'bridge.sock'), socketGroup: 'nogroup' });
    setPassword(config);
    expect(prepareForUnit(config).code).toBe(UNIT_START);
    const paths = noderedPaths(config);
    writeFileSync(
      paths.flowFile,
      JSON.stringify(flow([{ id: 'in', type: 'passerelle in', gateway: 'gw', kind: 'readings', match: '*' }, { id: 'gw', type: 'passerelle-gateway', name: 'this gateway', socket: '' }])),
    );
    execFileSync('chown', ['nobody:nogroup', paths.flowFile]);
    const site = configSchema.parse({
      site: { id: 'unit-site', name: 'Node-RED in its unit', clock: { trust: 'always' } },
      gateway: { id: 'gw-unit' },
      store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
      nodered: { port: 1880 },
    });
    gateway = new Gateway({ config: { ...site, nodered: config }, profiles: loadProfiles(), logger: silentLogger() });
    await gateway.start();
    // ExecStart and Environment= of the shipped unit, with this checkout's paths and the heap prepare wrote.
    const heap = /NODERED_HEAP_MB=(\d+)/.exec(readFileSync(unitEnvFile(paths.dir), 'utf8'))![1]!;
    const [command, ...args] = unitValues('ExecStart')[0]!
      .replace('${NODERED_HEAP_MB}', heap)
      .replaceAll('/opt/passerelle/node/bin/node', process.execPath)
      .replaceAll('/opt/passerelle/app', ROOT)
      .replaceAll('/var/lib/passerelle-flows', paths.dir)
      .split(' ');
    const env = Object.fromEntries(unitValues('Environment').flatMap((l) => l.split(' ').map((kv) => kv.split('=') as [string, string])));
    child = spawn(command!, args, { uid: id('-u', 'nobody'), gid: id('-g', 'nobody'), cwd: paths.userDir, env: { ...env, HOME: paths.userDir, PATH: '/usr/bin:/bin' }, stdio: 'ignore' });
    base = `http://127.0.0.1:${config.port}/`;
    await waitForEditor(base);
  }, 150_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('the gateway spawns no Node-RED; the editor answers 401 without a login', async () => {
    expect(gateway.noderedState()).toBeUndefined();
    expect((await api(base, 'flows')).status).toBe(401);
  });

  it('the Passerelle nodes connect to the bridge socket (0660, the flows group)', async () => {
    const socket = statSync(config.socket);
    expect({ mode: socket.mode & 0o777, gid: socket.gid }).toEqual({ mode: 0o660, gid: id('-g', 'nobody') });
    const deadline = Date.now() + 30_000;
    while ((gateway.stats().bridge as { clients: number }).clients < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect((gateway.stats().bridge as { clients: number }).clients).toBeGreaterThanOrEqual(1);
  }, 40_000);

  it('the flows user cannot read the store, its key, the password hash or the credential key', () => {
    const p = noderedPaths(config);
    for (const file of [join(dir, 'gw.db'), join(dir, 'gw.key'), p.passwordFile, p.credentialKeyFile]) {
      expect(() => execFileSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'cat', file], { stdio: 'pipe' }), file).toThrow(/Permission denied/);
    }
  });
});
