/**
 * A real Node-RED 4.1 runtime for tests: a child process (`red.js`) with a minimal settings file that
 * loads node-red-contrib-passerelle from the repository (nodesDir) and points it at a bridge socket
 * (settings.passerelle.socket, as Passerelle's own Node-RED settings do). Admin API without auth on
 * 127.0.0.1 and an ephemeral port: tests only. Flows are deployed through the admin HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { freePort } from './brokers.js';

export const NODE_MODULE_DIR = resolve('nodered/node-red-contrib-passerelle');
const RED_JS = createRequire(import.meta.url).resolve('node-red/red.js');

export interface NodeRedRuntime {
  readonly url: string;
  readonly child: ChildProcess;
  /** Replaces every flow (full deploy) and resolves once Node-RED accepted it. */
  deploy(flows: unknown[]): Promise<void>;
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown): Promise<unknown>;
  log(): string;
  stop(): Promise<void>;
}

export interface NodeRedOptions {
  readonly dir: string;
  readonly socketPath: string;
  /** Another nodes directory (a stock install's userDir/node_modules is scanned anyway). */
  readonly nodesDir?: string | null;
  /** Without Passerelle's settings key: a stock install, where the config node names the socket. */
  readonly stock?: boolean;
}

export async function startNodeRed(opts: NodeRedOptions): Promise<NodeRedRuntime> {
  const port = await freePort();
  const settings = join(opts.dir, 'settings.cjs');
  const settingsObject = {
    uiHost: '127.0.0.1',
    uiPort: port,
    userDir: opts.dir,
    flowFile: join(opts.dir, 'flows.json'),
    credentialSecret: false,
    ...(opts.nodesDir === null ? {} : { nodesDir: [opts.nodesDir ?? NODE_MODULE_DIR] }),
    ...(opts.stock ? {} : { passerelle: { socket: opts.socketPath } }),
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
    editorTheme: { tours: false, projects: { enabled: false } },
  };
  await writeFile(settings, `module.exports = ${JSON.stringify(settingsObject, null, 2)};\n`);
  const child = spawn(process.execPath, [RED_JS, '--settings', settings, '--userDir', opts.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node-red exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/settings`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`node-red did not start within 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : undefined;
  };
  return {
    url,
    child,
    deploy: async (flows) => void (await call('POST', '/flows', flows, { 'Node-RED-Deployment-Type': 'full' })),
    get: (path) => call('GET', path),
    post: (path, body) => call('POST', path, body),
    log: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
