/** MbusMaster (link layer, master side) against simulated meters on a real socat pty pair. */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MbusMaster } from '../../src/drivers/serial/mbus/index.js';
import { getMbusProfile } from '../../src/profiles/index.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { startMbusSimulator, type MbusSimulatorOptions, type MbusSimulator } from '../../src/sim/mbus.js';

const settings = (path: string) => ({ path, baudRate: 2400, dataBits: 8 as const, parity: 'even' as const, stopBits: 1 as const });

describe('M-Bus master over a pty', () => {
  let pair: PtyPair | undefined;
  let stops: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const stop of stops.reverse()) await stop();
    await pair?.close();
    stops = [];
    pair = undefined;
  });

  async function setup(sim: Omit<MbusSimulatorOptions, "path"> & { slackMs?: number }): Promise<{ master: MbusMaster; simulator: MbusSimulator }> {
    pair = await createPtyPair();
    const simulator = await startMbusSimulator({ path: pair.b, ...sim });
    stops.push(() => simulator.stop());
    const master = new MbusMaster({ settings: settings(pair.a), logger: silentLogger(), slackMs: sim.slackMs ?? 400 });
    await master.start();
    stops.push(() => master.stop());
    return { master, simulator };
  }

  it('SND_NKE then REQ_UD2 reads a heat meter at its primary address; an absent address times out', async () => {
    const { master, simulator } = await setup({ meters: [{ profile: getMbusProfile('kamstrup-multical-601'), primary: 5 }] });
    expect(await master.sndNke(5)).toBe(true);
    expect(await master.sndNke(6)).toBe(false);
    const answersBefore = simulator.counts().answers;
    expect(await master.sndNke(255)).toBe(true); // broadcast: sent, nobody answers, nothing awaited
    expect(simulator.counts().answers).toBe(answersBefore);
    const r = await master.read(5);
    if (!r.ok) throw new Error(r.message);
    expect(r.header).toMatchObject({ id: '71234567', manufacturer: 'KAM', version: 8, medium: 4 });
    const energy = r.records.find((x) => x.quantity === 'energy' && x.storage === 0)!;
    expect((energy.value as number) / 1000).toBeCloseTo(simulator.served().at(-1)!.values.energy as number, 6);
    expect(master.stats().timeouts).toBe(3); // address 6: the request and its two retries
  });

  it('reads a multi-telegram answer (DIF 1Fh) by toggling the FCB, and the energy index only grows', async () => {
    const { master, simulator } = await setup({ meters: [{ profile: getMbusProfile('kamstrup-multical-601'), primary: 1 }], recordsPerTelegram: 4 });
    await master.sndNke(1);
    const first = await master.read(1);
    const second = await master.read(1);
    if (!first.ok || !second.ok) throw new Error('read failed');
    expect(first.telegrams).toBe(3); // 11 records, 4 a telegram
    expect(first.records).toHaveLength(11);
    expect(second.records).toHaveLength(11);
    const energy = (r: typeof first) => (r.ok ? (r.records.find((x) => x.quantity === 'energy' && x.storage === 0)!.value as number) : NaN);
    expect(energy(second)).toBeGreaterThanOrEqual(energy(first));
    expect(simulator.served()).toHaveLength(2);
  });

  it('finds every meter of a bus by the secondary search, through collisions of shared prefixes', async () => {
    const kam = getMbusProfile('kamstrup-multical-601');
    const { master, simulator } = await setup({
      meters: [
        { profile: kam, primary: 0, id: '71234567' },
        { profile: kam, primary: 0, id: '71234599' },
        { profile: getMbusProfile('itron-cyble-mbus'), primary: 0 },
        { profile: getMbusProfile('engelmann-sensostar'), primary: 0 },
      ],
      slackMs: 150,
    });
    const tried: string[] = [];
    const found = await master.search((mask) => tried.push(mask));
    expect(found.map((h) => `${h.id} ${h.manufacturer}`).sort()).toEqual(['10380123 EFE', '12000123 ACW', '71234567 KAM', '71234599 KAM']);
    expect(simulator.counts().collisions).toBeGreaterThan(0);
    expect(master.stats().collisions).toBe(simulator.counts().collisions);
    expect(tried).toContain('7123459F');
    // Then one meter is read through its selection.
    expect(await master.select({ id: '12000123' })).toBe('selected');
    const r = await master.read(253);
    expect(r.ok && r.header?.manufacturer).toBe('ACW');
  }, 120_000);

  it('retries through bad checksums and silences, and counts them', async () => {
    const { master, simulator } = await setup({ meters: [{ profile: getMbusProfile('engelmann-sensostar'), primary: 9 }], faults: { badChecksums: 0.3, silence: 0.2 }, seed: 7 });
    let ok = 0;
    for (let i = 0; i < 8; i++) if ((await master.read(9)).ok) ok++;
    const s = master.stats();
    const c = simulator.counts();
    expect(c.badChecksums + c.silences).toBeGreaterThan(0);
    expect(s.checksumErrors).toBe(c.badChecksums);
    expect(s.retries).toBeGreaterThan(0);
    expect(ok).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('reads through collision garbage before answers and cut answers, counting the garbage', async () => {
    const { master, simulator } = await setup({ meters: [{ profile: getMbusProfile('itron-cyble-mbus'), primary: 2 }], faults: { noise: 0.5, cutFrames: 0.2 }, seed: 5 });
    const values: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await master.read(2);
      if (r.ok) values.push(r.records.find((x) => x.quantity === 'volume' && x.storage === 0)!.value as number);
    }
    const c = simulator.counts();
    expect(c.noiseBursts).toBeGreaterThan(0);
    expect(master.stats().garbageBytes).toBeGreaterThan(0);
    expect(values.length).toBeGreaterThanOrEqual(5);
    // Every value read is one the meter served.
    const served = simulator.served().map((s) => s.values.volume);
    for (const v of values) expect(served).toContain(v);
  }, 60_000);
});
