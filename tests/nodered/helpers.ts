/** A real Node-RED child for tests: config, password, waiting for the editor, logging in, admin API calls. */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { noderedSchema, type NoderedConfig } from '../../src/config/schema.js';
import { hashPassword, writeAdminHash } from '../../src/nodered/password.js';
import { noderedPaths } from '../../src/nodered/paths.js';

export const PASSWORD = 'tilleul-sec-2026';

/** The flows user (nobody, as the tests run as root) must reach the state directory under a mkdtemp (0700) one. */
export function noderedConfig(dir: string, port: number, over: Partial<NoderedConfig> = {}): NoderedConfig {
  chmodSync(dir, 0o755);
  return noderedSchema.parse({ dir: join(dir, 'nodered'), socket: join(dir, 'nodered', 'bridge.sock'), port, runAs: 'nobody', ...over });
}

/** What `passerelle nodered passwd` does. */
export function setPassword(config: NoderedConfig, password = PASSWORD): void {
  const { dir, passwordFile } = noderedPaths(config);
  mkdirSync(dir, { recursive: true });
  writeAdminHash(passwordFile, hashPassword(password));
}

/** Node-RED takes seconds to start (more on a loaded CI machine): wait until its admin API answers. */
export async function waitForEditor(base: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${base}auth/login`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`Node-RED at ${base} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function login(base: string, username: string, password: string): Promise<Response> {
  return fetch(`${base}auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'node-red-editor', grant_type: 'password', scope: '*', username, password }).toString(),
  });
}

export async function token(base: string, password = PASSWORD): Promise<string> {
  const r = await login(base, 'admin', password);
  if (!r.ok) throw new Error(`login failed: ${r.status}`);
  return ((await r.json()) as { access_token: string }).access_token;
}

export function api(base: string, path: string, opts: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${base}${path}`, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
}

/** A deployable flow: one tab with the given nodes. */
export function flow(nodes: Record<string, unknown>[]): Record<string, unknown>[] {
  return [{ id: 'tab1', type: 'tab', label: 'Test' }, ...nodes.map((n) => ({ z: 'tab1', x: 100, y: 100, wires: [], ...n }))];
}
