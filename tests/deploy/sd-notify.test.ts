/**
 * The systemd notify protocol against a listener that plays systemd (NOTIFY_SOCKET, WATCHDOG_USEC),
 * through the real `systemd-notify`: READY after the first poll cycle, WATCHDOG only while the gateway
 * makes progress, STOPPING on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getProfile } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { notifierFromEnv, startWatchdog, statusLine, watchdogIntervalMs, type NotifyFields } from '../../src/gateway/sd-notify.js';
import { startFakeSystemd, type FakeSystemd } from './fake-systemd.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('watchdog settings from the environment', () => {
  it('pings at half of WATCHDOG_USEC, only for the pid systemd named', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({}, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42)).toBeUndefined();
  });

  it('no notifier without NOTIFY_SOCKET', () => {
    expect(notifierFromEnv({})).toBeUndefined();
  });

  it('a STATUS is one bounded line', () => {
    expect(statusLine('a\nb\r\nc')).toBe('a b c');
    expect(statusLine('x'.repeat(500))).toHaveLength(200);
  });

  it('one send at a time: what arrives meanwhile is merged, nothing is lost', async () => {
    const sent: NotifyFields[] = [];
    let release: () => void = () => undefined;
    const notifier = notifierFromEnv({ NOTIFY_SOCKET: '/x' }, (f) => {
      sent.push(f);
      return new Promise((r) => (release = r));
    })!;
    notifier.send({ READY: '1' });
    notifier.send({ WATCHDOG: '1', STATUS: 'a' });
    notifier.send({ STATUS: 'b' });
    expect(sent).toEqual([{ READY: '1' }]);
    release();
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([{ READY: '1' }, { WATCHDOG: '1', STATUS: 'b' }]);
    release();
    await notifier.idle();
  });
});

describe('against a listener that plays systemd', () => {
  let dir: string;
  let systemd: FakeSystemd;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-notify-'));
    systemd = await startFakeSystemd(dir);
  });

  afterEach(async () => {
    await systemd.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('pings WATCHDOG=1 while the gateway makes progress, withholds it while stalled, resumes after', async () => {
    const notifier = notifierFromEnv({ NOTIFY_SOCKET: systemd.socket })!;
    let stalled: string | undefined;
    const stalls: string[] = [];
    const stop = startWatchdog(notifier, 100, { stalled: () => stalled, status: () => 'all well' }, (why) => stalls.push(why));
    try {
      const first = await systemd.waitFor('WATCHDOG');
      expect(first.fields.STATUS).toBe('all well');
      stalled = 'bus rs485: one request has been running for 95 s';
      const stalledStatus = await systemd.waitFor((m) => m.fields.STATUS?.startsWith('stalled:') === true, 5000, systemd.messages.length);
      expect(stalledStatus.fields.WATCHDOG).toBeUndefined();
      const from = systemd.messages.indexOf(stalledStatus);
      await new Promise((r) => setTimeout(r, 600));
      // While stalled: status messages keep coming (the loop runs) but not one ping.
      const during = systemd.messages.slice(from + 1);
      expect(during.length).toBeGreaterThan(0);
      expect(during.filter((m) => 'WATCHDOG' in m.fields)).toEqual([]);
      expect(stalls).toEqual(['bus rs485: one request has been running for 95 s']);
      stalled = undefined;
      const resumed = await systemd.waitFor('WATCHDOG', 5000, systemd.messages.length);
      expect(resumed.fields.STATUS).toBe('all well');
    } finally {
      stop();
      await notifier.idle();
    }
  });

  describe('passerelle run as a Type=notify service', () => {
    let sim: ModbusTcpSimulator;
    let gateway: ChildProcess | undefined;

    beforeEach(async () => {
      sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: getProfile('soil-dfrobot') }] });
    });

    afterEach(async () => {
      gateway?.kill('SIGKILL');
      await sim.close();
    });

    it('READY after the first poll cycle, WATCHDOG with a status, STOPPING on SIGTERM, then exits 0', { timeout: 90_000 }, async () => {
      const site = join(dir, 'site.yaml');
      await writeFile(site, siteYaml(dir, sim.port));
      gateway = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', site, '--log-level', 'warn'], {
        cwd: ROOT,
        env: { ...process.env, NOTIFY_SOCKET: systemd.socket, WATCHDOG_USEC: '400000' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => gateway!.once('exit', (code) => resolve(code)));
      const early = exited.then((code) => Promise.reject(new Error(`gateway exited with ${code} before READY`)));
      const ready = await Promise.race([systemd.waitFor('READY', 45_000), early]);
      expect(sim.stats().units[1]?.requests ?? 0).toBeGreaterThan(0);
      expect(ready.fields.STATUS).toMatch(/1 devices/);
      const readyAt = systemd.messages.indexOf(ready);
      const ping = await systemd.waitFor('WATCHDOG', 10_000, readyAt + 1);
      expect(ping.fields.STATUS).toMatch(/windows closed/);
      expect(systemd.messages.slice(0, readyAt).filter((m) => 'WATCHDOG' in m.fields)).toEqual([]);
      gateway.kill('SIGTERM');
      const stopping = await systemd.waitFor('STOPPING', 10_000);
      expect(stopping.fields.STOPPING).toBe('1');
      expect(await exited).toBe(0);
      gateway = undefined;
    });
  });
});

function siteYaml(dir: string, port: number): string {
  return `site:
  id: notify-site
  name: Notify test site
  timezone: Europe/Paris
  clock:
    trust: always
gateway:
  id: gw-notify
buses:
  - id: sim
    type: tcp
    host: 127.0.0.1
    port: ${port}
    timeout: 500ms
devices:
  - id: soil
    bus: sim
    profile: soil-dfrobot
    unit: 1
    poll: 1s
aggregation:
  window: 10s
store:
  path: ${join(dir, 'site.db')}
  keyFile: ${join(dir, 'site.key')}
uplink:
  format: senml-json
policy:
  allow:
    - match: soil.*
      statistics: [mean]
`;
}
