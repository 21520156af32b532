/**
 * Flows and credentials survive what lost them on other gateways: a flow file truncated to 0 bytes by a
 * power cut (Node-RED 4.1 restores it from .flows.json.backup, the previous deploy), and a backup restored
 * onto a new SD card under another hostname (credentialSecret comes from our key file, not the hostname
 * or .config.runtime.json; the flow file name is absolute).
 */
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, truncateSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { noderedPaths } from '../../src/nodered/paths.js';
import { startNodeRed } from '../../src/nodered/start.js';
import { freePort } from '../helpers/brokers.js';
import { ROOT } from '../cli/cli.js';
import { api, flow, noderedConfig, setPassword, token, waitForEditor } from './helpers.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const broker = { id: 'b1', type: 'mqtt-broker', name: 'site broker', broker: '127.0.0.1', port: '1883', credentials: { user: 'technicien', password: 'mot-de-passe-broker' } };

describe('flows and credentials kept', () => {
  // Root: another hostname needs a UTS namespace (unshare), and the flows user (nobody) a copy it owns.
  it.runIf(process.geteuid?.() === 0)('restores a 0-byte flow file from the backup and decrypts credentials under another hostname', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nr-restore-'));
    dirs.push(dir);
    const config = noderedConfig(dir, await freePort());
    setPassword(config);
    const first = startNodeRed(config, { logger: silentLogger() });
    const base = first.state().url;
    try {
      await waitForEditor(base);
      const admin = await token(base);
      for (const name of ['first deploy', 'second deploy']) {
        const r = await api(base, 'flows', { method: 'POST', token: admin, body: [...flow([{ id: 'c1', type: 'comment', name }]), broker] });
        expect(r.ok).toBe(true);
      }
    } finally {
      await first.stop();
    }
    const paths = noderedPaths(config);
    expect(readFileSync(paths.flowFile, 'utf8')).toContain('second deploy');
    expect(readFileSync(join(paths.userDir, 'flows_cred.json'), 'utf8')).not.toContain('mot-de-passe-broker');

    // The power cut: the flow file is empty. Then the card goes into another gateway.
    truncateSync(paths.flowFile, 0);
    const restored = await mkdtemp(join(tmpdir(), 'nr-restored-'));
    dirs.push(restored);
    cpSync(join(dir, 'nodered'), join(restored, 'nodered'), { recursive: true, preserveTimestamps: true });
    const moved = noderedConfig(restored, await freePort());
    const child = spawn('unshare', ['--uts', 'sh', '-c', 'hostname restored-gw && exec "$0" "$@"', join(ROOT, 'node_modules', '.bin', 'tsx'), 'tests/nodered/run-nodered.ts', JSON.stringify(moved)], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    try {
      const movedBase = `http://127.0.0.1:${moved.port}/`;
      await waitForEditor(movedBase);
      expect(hostname()).not.toBe('restored-gw');
      const admin = await token(movedBase);
      const flows = JSON.stringify(await (await api(movedBase, 'flows', { token: admin })).json());
      expect(flows).toContain('first deploy');
      const creds = (await (await api(movedBase, 'credentials/mqtt-broker/b1', { token: admin })).json()) as Record<string, unknown>;
      expect(creds).toMatchObject({ user: 'technicien', has_password: true });
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  }, 240_000);
});
