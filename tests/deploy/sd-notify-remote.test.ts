/**
 * `passerelle run` under remote configuration as a Type=notify service, against a listener that plays
 * systemd, a real Mosquitto (the trial's status PUBACK) and a Modbus simulator: READY once after the
 * running config's first cycle, STATUS saying so while a config is on trial, WATCHDOG on the new
 * gateway after the change, STOPPING on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getProfile } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { newKeyring, siteText, trustFile } from '../remote/fixtures.js';
import { startFakeSystemd, type FakeSystemd } from './fake-systemd.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('passerelle run with a remote section, as a Type=notify service', () => {
  let dir: string;
  let systemd: FakeSystemd;
  let broker: MosquittoBroker;
  let sim: ModbusTcpSimulator;
  let gateway: ChildProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-notify-remote-'));
    systemd = await startFakeSystemd(dir);
    broker = await startMosquitto();
    sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: getProfile('soil-dfrobot') }] });
  });

  afterEach(async () => {
    gateway?.kill('SIGKILL');
    await sim.close();
    await broker.close();
    await systemd.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('READY once after the first cycle, STATUS during a trial, pings on the new gateway, STOPPING on SIGTERM', { timeout: 120_000 }, async () => {
    await writeFile(join(dir, 'trust.json'), trustFile(newKeyring()));
    const site = (window: string) =>
      siteText({
        storeDir: dir,
        window,
        broker: broker.url,
        buses: `buses:\n  - id: lan\n    type: tcp\n    host: 127.0.0.1\n    port: ${sim.port}\n    timeout: 500ms\n`,
        devices: 'devices:\n  - id: soil\n    bus: lan\n    unit: 1\n    profile: soil-dfrobot\n    poll: 1s\n',
        allow: '    - match: "soil.*"\n      statistics: [mean]',
        extra: `remote:\n  stateDir: ${join(dir, 'cfg')}\n  trustFile: ${join(dir, 'trust.json')}\n`,
      });
    const file = join(dir, 'site.yaml');
    await writeFile(file, site('10s'));
    gateway = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', file, '--log-level', 'warn'], {
      cwd: ROOT,
      env: { ...process.env, NOTIFY_SOCKET: systemd.socket, WATCHDOG_USEC: '400000' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => gateway!.once('exit', (code) => resolve(code)));
    const early = exited.then((code) => Promise.reject(new Error(`gateway exited with ${code} before READY`)));

    const ready = await Promise.race([systemd.waitFor('READY', 60_000), early]);
    expect(sim.stats().units[1]?.requests ?? 0).toBeGreaterThan(0);
    expect(ready.fields.STATUS).toMatch(/^1 devices, /);
    const readyAt = systemd.messages.indexOf(ready);
    expect(systemd.messages.slice(0, readyAt).filter((m) => 'WATCHDOG' in m.fields)).toEqual([]);
    await systemd.waitFor('WATCHDOG', 10_000, readyAt + 1);

    // A config change through the local inbox (what `passerelle config apply` does): stage, trial, commit.
    mkdirSync(join(dir, 'cfg', 'inbox'), { recursive: true });
    await writeFile(join(dir, 'next.yaml'), site('20s'));
    const changeAt = systemd.messages.length;
    await rename(join(dir, 'next.yaml'), join(dir, 'cfg', 'inbox', 'local.yaml'));
    // The new gateway runs on trial: STATUS says so (not a plain status, which would read as committed).
    await systemd.waitFor((m) => /^config trial \(local file\): 1 devices, /.test(m.fields.STATUS ?? ''), 60_000, changeAt);
    const applied = await waitForOutcome(join(dir, 'cfg', 'state.json'), 60_000);
    expect(applied).toBe('applied');
    // Stopping the old gateway and starting the new one is a restart, not a stall: no ping withheld.
    expect(systemd.messages.slice(changeAt).filter((m) => m.fields.STATUS?.startsWith('stalled'))).toEqual([]);
    // A ping built during the trial may be recorded after the state file said applied (this process reads
    // the file and the socket in no set order): wait for one with the committed gateway's plain STATUS.
    const after = systemd.messages.length;
    const ping = await systemd.waitFor((m) => 'WATCHDOG' in m.fields && /^1 devices, /.test(m.fields.STATUS ?? ''), 10_000, after);
    expect(ping.fields.STATUS).toMatch(/^1 devices, /);
    expect(systemd.messages.filter((m) => 'READY' in m.fields)).toHaveLength(1);

    gateway.kill('SIGTERM');
    const stopping = await systemd.waitFor('STOPPING', 10_000);
    expect(stopping.fields.STOPPING).toBe('1');
    expect(await exited).toBe(0);
    gateway = undefined;
  });
});

async function waitForOutcome(stateFile: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const last = JSON.parse(await readFile(stateFile, 'utf8').catch(() => '{}')).last;
    if (last && last.outcome !== 'accepted') return last.outcome as string;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no outcome in ${stateFile} within ${timeoutMs} ms`);
}
