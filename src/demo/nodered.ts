/**
 * The demo's Node-RED: a random editor password for this run only (its hash is removed when the demo
 * stops; never a fixed one), and the example flows of flows/ as the first flow file.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NoderedConfig } from '../config/schema.js';
import { hashPassword, writeAdminHash } from '../nodered/password.js';
import { noderedPaths } from '../nodered/paths.js';

export interface DemoNodeRed {
  readonly password: string;
  /** The example flows, written where the gateway seeds Node-RED's flow file from. */
  readonly seedFlows: string;
  /** Removes this run's password hash. */
  forget(): void;
}

export function prepareDemoNodeRed(config: NoderedConfig, packageRoot: string): DemoNodeRed {
  const paths = noderedPaths(config);
  mkdirSync(dirname(paths.dir), { recursive: true });
  mkdirSync(paths.dir, { recursive: true, mode: 0o750 });
  const password = randomBytes(12).toString('base64url');
  rmSync(paths.passwordFile, { force: true });
  writeAdminHash(paths.passwordFile, hashPassword(password));
  const seedFlows = demoSeedFile(config);
  writeFileSync(seedFlows, JSON.stringify(exampleFlows(join(packageRoot, 'flows')), null, 2));
  return { password, seedFlows, forget: () => rmSync(paths.passwordFile, { force: true }) };
}

/** Where the demo writes the example flows the gateway seeds Node-RED's flow file from. */
export const demoSeedFile = (config: NoderedConfig): string => join(noderedPaths(config).dir, 'demo-flows.json');

/** Every flows/*.json in one flow file (a node id seen twice is kept once); a core-node heartbeat when there are none. */
export function exampleFlows(dir: string): Record<string, unknown>[] {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
  const seen = new Set<unknown>();
  const nodes: Record<string, unknown>[] = [];
  for (const f of files) {
    for (const node of JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>[]) {
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      nodes.push(node);
    }
  }
  return nodes.length > 0 ? nodes : HEARTBEAT;
}

const HEARTBEAT: Record<string, unknown>[] = [
  { id: 'demo-tab', type: 'tab', label: 'Demo' },
  { id: 'demo-tick', z: 'demo-tab', type: 'inject', name: 'every 2 s', repeat: '2', once: true, onceDelay: 1, payload: '', payloadType: 'date', x: 140, y: 80, wires: [['demo-debug']] },
  { id: 'demo-debug', z: 'demo-tab', type: 'debug', name: 'demo', active: true, tosidebar: true, complete: 'payload', x: 340, y: 80, wires: [] },
];
