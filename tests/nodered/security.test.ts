/**
 * The editor of a real Node-RED child, as an attacker on the machine or a web page would try it: nothing
 * without a token, no palette install, no exec/file/watch nodes, no child_process in function nodes, no
 * cross-origin deploy, and a per-IP limit on failed logins (Node-RED alone only locks per user name).
 * One Node-RED start for the whole file (seconds each); the login limiter test runs last (it locks 127.0.0.1 out).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { SESSION_EXPIRY_S } from '../../src/nodered/settings.js';
import { startNodeRed, type NodeRedHandle } from '../../src/nodered/start.js';
import { freePort } from '../helpers/brokers.js';
import { api, flow, login, noderedConfig, PASSWORD, setPassword, token, waitForEditor } from './helpers.js';

let dir: string;
let base: string;
let handle: NodeRedHandle;
let admin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nr-sec-'));
  const port = await freePort();
  const config = noderedConfig(dir, port);
  setPassword(config);
  handle = startNodeRed(config, { logger: silentLogger() });
  base = handle.state().url;
  await waitForEditor(base);
  admin = await token(base);
}, 120_000);

afterAll(async () => {
  await handle?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Node-RED editor security', () => {
  it('answers 401 to the admin API without a token', async () => {
    for (const path of ['flows', 'nodes', 'settings', 'diagnostics']) expect((await api(base, path)).status, path).toBe(401);
    expect((await api(base, 'flows', { method: 'POST', body: flow([]) })).status).toBe(401);
  });

  it('issues sessions that expire after a work day', async () => {
    const r = await login(base, 'admin', 'tilleul-sec-2026');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { expires_in: number }).expires_in).toBe(SESSION_EXPIRY_S);
    expect(SESSION_EXPIRY_S).toBeLessThanOrEqual(10 * 3600);
  });

  it('refuses a cross-origin deploy, with or without a token, and sends no CORS answer', async () => {
    const evil = { origin: 'http://evil.example' };
    const anonymous = await api(base, 'flows', { method: 'POST', body: flow([]), headers: evil });
    expect(anonymous.status).toBe(403);
    expect(anonymous.headers.get('access-control-allow-origin')).toBeNull();
    const withToken = await api(base, 'flows', { method: 'POST', body: flow([]), headers: evil, token: admin });
    expect(withToken.status).toBe(403);
    const read = await api(base, 'flows', { headers: evil, token: admin });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses to install a module from the palette (POST /nodes), even for the admin', async () => {
    const r = await api(base, 'nodes', { method: 'POST', token: admin, body: { module: 'node-red-contrib-anything' } });
    expect(r.status).toBeGreaterThanOrEqual(400);
    const modules = (await (await api(base, 'nodes', { token: admin, headers: { accept: 'application/json' } })).json()) as { module: string }[];
    expect(modules.map((m) => m.module)).not.toContain('node-red-contrib-anything');
  });

  it('has no exec, file or watch node', async () => {
    const nodes = (await (await api(base, 'nodes', { token: admin, headers: { accept: 'application/json' } })).json()) as { types: string[] }[];
    const types = nodes.flatMap((n) => n.types);
    expect(types).toContain('function');
    for (const t of ['exec', 'file', 'file in', 'watch']) expect(types).not.toContain(t);
  });

  it('runs no function node that asks for child_process, and gives function nodes no require', async () => {
    // Where the flows user may write: only Node-RED's own user directory.
    const marker = join(handle.paths.userDir, 'pwned');
    const touch = `execSync('touch ${marker}')`;
    const inject = (to: string[]) => ({ id: 'i1', type: 'inject', once: true, onceDelay: 0.1, repeat: '', payload: '', payloadType: 'date', wires: [to] });
    // The module list of a function node (functionExternalModules): child_process counts as a module.
    const withLib = flow([inject(['f1']), { id: 'f1', type: 'function', func: `cp.${touch}; return msg;`, libs: [{ var: 'cp', module: 'child_process' }], outputs: 1 }]);
    await api(base, 'flows', { method: 'POST', token: admin, body: withLib });
    const viaRequire = flow([
      inject(['f2', 'f3', 'ok']),
      { id: 'f2', type: 'function', func: `require('child_process').${touch}; return msg;`, outputs: 1 },
      { id: 'f3', type: 'function', func: `process.mainModule.require('child_process').${touch}; return msg;`, outputs: 1 },
      // The control: function nodes of this deploy did run.
      { id: 'ok', type: 'function', func: "flow.set('ran', true); return msg;", outputs: 1 },
    ]);
    expect((await api(base, 'flows', { method: 'POST', token: admin, body: viaRequire })).ok).toBe(true);
    const ran = async () => JSON.stringify(await (await api(base, 'context/flow/tab1', { token: admin })).json());
    const deadline = Date.now() + 10_000;
    while (!(await ran()).includes('ran') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await ran()).toContain('ran');
    expect(() => statSync(marker)).toThrow();
  });

  it('serves the endpoints of http-in nodes only to the admin login (basic auth), not to anyone on the port', async () => {
    const endpoint = flow([
      { id: 'h1', type: 'http in', url: '/open-valve', method: 'get', upload: false, swaggerDoc: '', wires: [['h2']] },
      { id: 'h2', type: 'http response', statusCode: '', headers: {}, wires: [] },
    ]);
    expect((await api(base, 'flows', { method: 'POST', token: admin, body: endpoint })).ok).toBe(true);
    const call = (auth?: string) => fetch(`${base}open-valve`, auth ? { headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } } : {});
    const deadline = Date.now() + 10_000;
    let withLogin = await call(`admin:${PASSWORD}`);
    while (withLogin.status === 404 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      withLogin = await call(`admin:${PASSWORD}`);
    }
    expect(withLogin.status).toBe(200);
    expect((await call()).status).toBe(401);
    expect((await call('admin:wrong-password')).status).toBe(401);
  });

  // As root (CI), the child runs as nobody; as another user it is that user, who owns its own keys.
  it.runIf(process.geteuid?.() === 0)('runs as an unprivileged user that cannot open a 0600 key of the gateway', () => {
    const pid = handle.state().pid!;
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    expect(uid).not.toBe(0);
    const key = join(dir, 'store.key');
    writeFileSync(key, 'k'.repeat(32), { mode: 0o600 });
    const tryOpen = spawnSync(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(key)}, 'r')`], { uid, gid: uid, encoding: 'utf8' });
    expect(tryOpen.status).not.toBe(0);
    expect(tryOpen.stderr).toContain('EACCES');
  });

  it('answers 429 to one address after 5 failed logins, whatever the user names', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await login(base, `guess${i}`, `wrong-${i}`)).status);
    expect(statuses.slice(0, 5).every((s) => s === 401 || s === 403)).toBe(true);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // The right password from that address waits too: the limit is per address, not per user.
    expect((await login(base, 'admin', 'tilleul-sec-2026')).status).toBe(429);
  });
});
