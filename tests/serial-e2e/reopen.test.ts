/**
 * The adapter is missing at start, appears, disappears and comes back (a USB unplug): the driver never
 * throws, says why it cannot open, and decodes again once the port is back. socat plays the adapter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { TicDeviceConfig } from '../../src/config/schema.js';
import { TicDriver } from '../../src/drivers/serial/tic-driver.js';
import { explainOpenError } from '../../src/drivers/serial/serial-link.js';
import { startTicSimulator, TIC_SIM_DEFAULT_METER_ID, type TicSimulator } from '../../src/sim/tic.js';
import { collect, serialBus, serialDevice, stat, waitFor } from './helpers.js';

/** socat linking two ptys at fixed paths, so the "adapter" comes back where the config says. */
async function plugAdapter(gatewaySide: string, deviceSide: string): Promise<ChildProcess> {
  const child = spawn('socat', [`pty,raw,echo=0,link=${gatewaySide}`, `pty,raw,echo=0,link=${deviceSide}`], { stdio: 'ignore' });
  await waitFor(() => existsSync(gatewaySide) && existsSync(deviceSide), 5000, 'socat ptys');
  return child;
}

async function unplug(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('serial port coming and going', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('explains ENOENT and EACCES for a technician', () => {
    expect(explainOpenError('/dev/ttyUSB0', new Error('Error: No such file or directory, cannot open /dev/ttyUSB0'))).toMatch(/adapter plugged in/);
    expect(explainOpenError('/dev/ttyUSB0', new Error('Error: Permission denied, cannot open /dev/ttyUSB0'))).toMatch(/dialout/);
  });

  it('waits for a missing adapter, decodes once it is there, and again after an unplug', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-reopen-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const gatewaySide = join(dir, 'ttyUSB0');
    const deviceSide = join(dir, 'meter');
    const logs: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
    const device = serialDevice<TicDeviceConfig>({ id: 'linky', protocol: 'tic', tic: { mode: 'standard', labels: ['EAST', 'ADSC'] } });
    const driver = new TicDriver(device, serialBus(gatewaySide), logger, { silenceMs: 1500 });
    cleanups.push(() => driver.stop());
    const { readings, sink } = collect();
    await driver.start(sink); // must not throw with no adapter
    await waitFor(() => stat(driver, 'openErrors') >= 2, 5000, 'open retries');
    expect(logs.filter((l) => l.includes('adapter plugged in')).length).toBe(1); // said once, not every retry

    let socat = await plugAdapter(gatewaySide, deviceSide);
    let sim: TicSimulator = await startTicSimulator({ path: deviceSide, mode: 'standard', paceBaud: 0, gapMs: 100 });
    await waitFor(() => readings.some((r) => r.point === 'east'), 10_000, 'first readings');

    await sim.stop();
    await unplug(socat);
    await waitFor(() => stat(driver, 'silenceReopens') + stat(driver, 'disconnects') >= 1, 10_000, 'unplug noticed');
    const before = readings.length;

    socat = await plugAdapter(gatewaySide, deviceSide);
    cleanups.push(() => unplug(socat));
    sim = await startTicSimulator({ path: deviceSide, mode: 'standard', paceBaud: 0, gapMs: 100 });
    cleanups.push(() => sim.stop());
    await waitFor(() => readings.length > before, 20_000, 'readings after replug');
    expect(stat(driver, 'opens')).toBeGreaterThanOrEqual(2);
    // The meter id was decoded (asked for in labels) but never written to the log.
    expect(readings.some((r) => r.value === TIC_SIM_DEFAULT_METER_ID)).toBe(true);
    expect(logs.join('\n')).not.toContain(TIC_SIM_DEFAULT_METER_ID);
    expect(logs.join('\n')).toContain('TIC standard mode detected');
  }, 40_000);
});
