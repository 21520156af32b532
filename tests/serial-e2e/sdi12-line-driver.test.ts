/** Sdi12Driver (two sensors, one port) and LineDriver over real pty pairs, fed by the simulators. */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { LineDeviceConfig, Sdi12DeviceConfig } from '../../src/config/schema.js';
import { createSdi12Drivers, type Sdi12Driver } from '../../src/drivers/serial/sdi12-driver.js';
import { LineDriver } from '../../src/drivers/serial/line-driver.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startSdi12Simulator, type Sdi12Simulator } from '../../src/sim/sdi12.js';
import { startLineSimulator, type LineSimulator } from '../../src/sim/line.js';
import { collect, serialBus, serialDevice, stat, waitFor } from './helpers.js';

const soil = (id: string, address: string, crc: boolean) =>
  serialDevice<Sdi12DeviceConfig>({
    id,
    protocol: 'sdi12',
    poll: '1s',
    sdi12: { address, crc, values: [{ name: 'moisture', unit: '%', class: 'environment' }, { name: 'temperature', unit: 'Cel', class: 'environment' }] },
  });

describe('serial drivers over a pty', () => {
  let pair: PtyPair | undefined;
  let stops: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const stop of stops.reverse()) await stop();
    await pair?.close();
    stops = [];
    pair = undefined;
  });

  it('polls two SDI-12 sensors on one port (aM! and aMC!) and reports what they measured', async () => {
    pair = await createPtyPair();
    const sim: Sdi12Simulator = await startSdi12Simulator({
      path: pair.b,
      sensors: [
        { address: '0', values: (t) => [30 + (t % 7), 12.5], delaySeconds: 1 },
        { address: '3', values: () => [-1.25, 40], delaySeconds: 0 },
      ],
    });
    stops.push(() => sim.stop());
    const drivers: Sdi12Driver[] = createSdi12Drivers([soil('probe-a', '0', false), soil('probe-b', '3', true)], serialBus(pair.a, 1200), silentLogger());
    const { readings, sink } = collect();
    for (const d of drivers) {
      await d.start(sink);
      stops.push(() => d.stop());
    }
    await waitFor(() => drivers.every((d) => stat(d, 'ok') >= 2), 20_000, () => `two measurements each: ${JSON.stringify(drivers.map((d) => d.stats()))} ${JSON.stringify(sim.commands())}`);
    const commands = sim.commands();
    expect(commands).toContain('0I!');
    expect(commands).toContain('0M!');
    expect(commands).toContain('3MC!');
    expect(commands).toContain('0D0!');
    const measured = sim.measurements();
    for (const [device, address] of [['probe-a', '0'], ['probe-b', '3']] as const) {
      const got = readings.filter((r) => r.device === device && r.point === 'moisture' && r.quality === 'good').map((r) => r.value);
      const sent = measured.filter((m) => m.address === address).map((m) => m.values[0]);
      expect(got.length).toBeGreaterThanOrEqual(2);
      for (const v of got) expect(sent).toContain(v);
    }
    expect(readings.find((r) => r.device === 'probe-b' && r.point === 'moisture')?.value).toBe(-1.25);
    // A service request crossing aD0! at the announced time is not taken for an empty data reply.
    expect(stat(drivers[0]!, 'incomplete')).toBe(0);
    // A pty cannot hold a break: counted, and the exchange works anyway.
    expect(stat(drivers[0]!, 'breakUnsupported')).toBeGreaterThan(0);
  });

  it('SDI-12 CRC errors and cut replies are retried, counted, and never taken as values', async () => {
    pair = await createPtyPair();
    const sim = await startSdi12Simulator({ path: pair.b, seed: 3, faults: { badChecksums: 0.5, cutFrames: 0.2 }, sensors: [{ address: '1', values: () => [55.5, 9.75], delaySeconds: 0 }] });
    stops.push(() => sim.stop());
    const [driver] = createSdi12Drivers([soil('probe', '1', true)], serialBus(pair.a, 1200), silentLogger());
    const { readings, sink } = collect();
    await driver!.start(sink);
    stops.push(() => driver!.stop());
    await waitFor(() => stat(driver!, 'sessions') >= 6 && sim.counts().badChecksums >= 2, 20_000, 'faulty sessions');
    const good = readings.filter((r) => r.quality === 'good');
    expect(good.length).toBeGreaterThan(0);
    for (const r of good) expect(r.value).toBe(r.point === 'moisture' ? 55.5 : 9.75);
    for (const r of readings.filter((x) => x.quality === 'bad')) expect(['crc', 'timeout', 'decode']).toContain(r.reason);
  });

  it('turns printed lines into named values, and survives noise and cut lines', async () => {
    pair = await createPtyPair();
    const sim: LineSimulator = await startLineSimulator({ path: pair.b, intervalMs: 20, seed: 5, faults: { noise: 0.2, cutFrames: 0.1, badChecksums: 0.1 } });
    stops.push(() => sim.stop());
    const device = serialDevice<LineDeviceConfig>({ id: 'thermo', protocol: 'line', line: { fields: { T: { unit: 'Cel', class: 'comfort' }, H: { unit: '%RH', class: 'comfort' } } } });
    const driver = new LineDriver(device, serialBus(pair.a), silentLogger());
    const { readings, sink } = collect();
    await driver.start(sink);
    stops.push(() => driver.stop());
    await waitFor(() => sim.counts().lines >= 150, 15_000, '150 lines');
    await sim.stop();
    await new Promise((r) => setTimeout(r, 100));
    const intact = sim.sentLines().filter((l) => l.intact);
    const goodT = readings.filter((r) => r.point === 'T' && r.quality === 'good').map((r) => r.value);
    // Every intact line is recovered; values of damaged lines may be lost but are never invented.
    expect(goodT.length).toBeGreaterThanOrEqual(intact.length);
    const sentT = new Set(sim.sentLines().map((l) => l.values.T));
    for (const v of goodT) expect(sentT.has(v as number)).toBe(true);
    expect(stat(driver, 'fieldErrors') + stat(driver, 'noMatch')).toBeGreaterThan(0);
    expect(driver.bufferedBytes()).toBeLessThanOrEqual(256 + 1);
  });
});
