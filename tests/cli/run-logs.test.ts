/**
 * Issue 13 item 9: what a technician reads in the journal of `passerelle run`: `gateway started` counts
 * every bus (a TIC bus too), one info line per window closed and per message published, with bytes.
 * Real parts: a Modbus TCP simulator, a TIC simulator on a pty, Mosquitto.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { createPtyPair } from '../../src/sim/pty.js';
import { startTicSimulator } from '../../src/sim/tic.js';
import { startMosquitto } from '../helpers/brokers.js';
import { ROOT } from './cli.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('passerelle run logs', () => {
  it('counts every bus and logs each window closed and each message published', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-run-logs-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: loadProfiles().get('soil-dfrobot')! }] });
    cleanups.push(() => sim.close());
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const tic = await startTicSimulator({ path: pair.b, mode: 'standard' });
    cleanups.push(() => tic.stop());
    const config = join(dir, 'site.yaml');
    await writeFile(
      config,
      `site: { id: s, name: S, clock: { trust: always } }
gateway: { id: g }
buses:
  - { id: lan, type: tcp, host: 127.0.0.1, port: ${sim.port} }
  - { id: tic, type: serial, port: ${pair.a}, baud: 9600, dataBits: 7, parity: even }
devices:
  - { id: soil, bus: lan, unit: 1, profile: soil-dfrobot, poll: 1s }
  - { id: linky, bus: tic, protocol: tic, tic: { mode: standard, labels: [EAST, SINSTS] } }
aggregation: { window: 2s }
store: { path: ${dir}/s.db, keyFile: ${dir}/s.key }
uplink: { broker: "${broker.url}" }
policy:
  allow:
    - { match: soil.moisture, statistics: [mean] }
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', config], { cwd: ROOT });
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const logs = () => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const deadline = Date.now() + 40_000;
    while (!logs().some((l) => l.msg === 'published' && String(l.topic).endsWith('/summary')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const closed = new Promise((resolve) => child.once('close', resolve));
    child.kill('SIGTERM');
    await closed;

    expect(logs().find((l) => l.msg === 'gateway started')).toMatchObject({ buses: 2, devices: 2 });
    const window = logs().find((l) => l.msg === 'window closed');
    expect(window).toMatchObject({ level: 30, points: 5, messages: 1 });
    expect(window!.bytes).toBeGreaterThan(0);
    const published = logs().find((l) => l.msg === 'published' && String(l.topic).endsWith('/summary'));
    expect(published).toMatchObject({ level: 30, topic: 'passerelle/s/g/summary' });
    expect(published!.bytes).toBeGreaterThan(0);
  }, 90_000);
});
