/** TicDriver over a real pty pair, fed by the TIC simulator. */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { TicDeviceConfig } from '../../src/config/schema.js';
import { TicDriver } from '../../src/drivers/serial/tic-driver.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startTicSimulator, TIC_SIM_DEFAULT_METER_ID, type TicSimulator } from '../../src/sim/tic.js';
import { collect, serialBus, serialDevice, stat, waitFor } from './helpers.js';

describe('TicDriver over a pty', () => {
  let pair: PtyPair | undefined;
  let sim: TicSimulator | undefined;
  let driver: TicDriver | undefined;

  afterEach(async () => {
    await driver?.stop();
    await sim?.stop();
    await pair?.close();
    driver = sim = pair = undefined;
  });

  it.each(['historique', 'standard'] as const)('auto-detects %s frames and emits the kept labels with their values', async (mode) => {
    pair = await createPtyPair();
    sim = await startTicSimulator({ path: pair.b, mode, paceBaud: 0, gapMs: 100 });
    const device = serialDevice<TicDeviceConfig>({ id: 'linky', protocol: 'tic' });
    driver = new TicDriver(device, serialBus(pair.a), silentLogger());
    const { readings, sink } = collect();
    await driver.start(sink);
    await waitFor(() => stat(driver!, 'frames') >= 3, 5000, 'three frames');
    expect(driver.detectedMode).toBe(mode);
    const counter = mode === 'standard' ? 'east' : 'base';
    const power = mode === 'standard' ? 'sinsts' : 'papp';
    const sentLabels = sim.sentFrames().flatMap((f) => Object.keys(f.values));
    expect(sentLabels).toContain(counter.toUpperCase());
    const counters = readings.filter((r) => r.point === counter);
    expect(counters.length).toBeGreaterThanOrEqual(3);
    expect(counters.every((r) => r.quality === 'good' && typeof r.value === 'number')).toBe(true);
    // The index never goes down, and every value is one the meter sent.
    const values = counters.map((r) => r.value as number);
    expect([...values].sort((a, b) => a - b)).toEqual(values);
    const sentCounters = new Set(sim.sentFrames().map((f) => Number(f.values[counter.toUpperCase()])));
    for (const v of values) expect(sentCounters.has(v)).toBe(true);
    expect(readings.some((r) => r.point === power && r.quality === 'good')).toBe(true);
    // Identifiers are not kept by default, and text labels are not numeric defaults.
    expect(readings.some((r) => r.point === 'adco' || r.point === 'adsc')).toBe(false);
    expect(JSON.stringify(readings)).not.toContain(TIC_SIM_DEFAULT_METER_ID);
  });

  it('keeps the rest of the frame when groups have bad checksums, and counts them', async () => {
    pair = await createPtyPair();
    sim = await startTicSimulator({ path: pair.b, mode: 'standard', paceBaud: 0, gapMs: 50, seed: 7, faults: { badChecksums: 0.2, noise: 0.5, cutFrames: 0.2 } });
    const device = serialDevice<TicDeviceConfig>({ id: 'linky', protocol: 'tic', tic: { mode: 'standard', labels: ['EAST', 'SINSTS', 'LTARF', 'ADSC'] } });
    driver = new TicDriver(device, serialBus(pair.a), silentLogger());
    const { readings, sink } = collect();
    await driver.start(sink);
    await waitFor(() => sim!.counts().badChecksums >= 5 && sim!.counts().cutFrames >= 2 && stat(driver!, 'frames') >= 10, 15_000, 'faults injected');
    await new Promise((r) => setTimeout(r, 200));
    const stats = driver.stats();
    expect(stats.checksumErrors).toBeGreaterThanOrEqual(3);
    expect(stats.truncated).toBeGreaterThanOrEqual(1);
    expect(stats.noiseBytes).toBeGreaterThan(0);
    expect(readings.some((r) => r.quality === 'bad' && r.reason === 'checksum')).toBe(true);
    // A text label is a string, the identifier asked for comes as text; no good reading carries a corrupted value.
    expect(readings.find((r) => r.point === 'ltarf' && r.quality === 'good')?.value).toBe('      BASE      ');
    expect(readings.find((r) => r.point === 'adsc' && r.quality === 'good')?.value).toBe(TIC_SIM_DEFAULT_METER_ID);
    const sentEast = new Set(sim.sentFrames().map((f) => Number(f.values.EAST)));
    for (const r of readings.filter((x) => x.point === 'east' && x.quality === 'good')) expect(sentEast.has(r.value as number)).toBe(true);
  });
});
