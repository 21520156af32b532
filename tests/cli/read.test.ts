import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProfile } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { startModbusRtuSimulator } from '../../src/sim/modbus-rtu.js';
import { createPtyPair } from '../../src/sim/pty.js';
import { parseTable, runCli } from './cli.js';

interface JsonRow {
  point: string;
  value: number | null;
  unit?: string;
  raw: number[];
  problem?: string;
}

describe('passerelle read --tcp', () => {
  let sim: ModbusTcpSimulator;
  let tcp: string;
  beforeAll(async () => {
    sim = await startModbusTcpSimulator({
      host: '127.0.0.1',
      port: 0,
      devices: [
        { unit: 1, profile: getProfile('eastron-sdm630') },
        { unit: 2, profile: getProfile('soil-dfrobot') },
      ],
    });
    tcp = `127.0.0.1:${sim.port}`;
  });
  afterAll(() => sim.close());

  it("prints a profile's points with the values the device served", async () => {
    const r = await runCli(['read', '--tcp', tcp, '--unit', '1', '--profile', 'eastron-sdm630', '--points', 'voltage_l1,power_total,energy_import', '--json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as JsonRow[];
    expect(rows.map((x) => x.point)).toEqual(['voltage_l1', 'power_total', 'energy_import']);
    for (const row of rows) {
      expect(row.value).toBe(sim.banks.get(1)!.lastServed(row.point)!.value);
      expect(row.raw).toHaveLength(2);
    }
  });

  it('prints a readable table: point, value, unit, raw words', async () => {
    const r = await runCli(['read', '--tcp', tcp, '--unit', '2', '--profile', 'soil-dfrobot']);
    expect(r.code).toBe(0);
    const table = parseTable(r.stdout);
    expect(table.header).toEqual(['point', 'value', 'unit', 'raw words']);
    const bank = sim.banks.get(2)!;
    expect(table.rows.map((row) => [row[0], Number(row[1])])).toEqual(
      ['moisture', 'temperature', 'ec'].map((p) => [p, bank.lastServed(p)!.value]),
    );
    expect(table.rows[0]![3]).toMatch(/^0x[0-9A-F]{4}$/);
  });

  it('reads raw registers (here the probe baud code, which the simulator serves as 2)', async () => {
    const r = await runCli(['read', '--tcp', tcp, '--unit', '2', '--raw', '--function', '3', '--address', '0x07D1', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([{ address: 0x07d1, value: 2 }]);
  });

  it('says which unit did not answer, and reports exceptions by name', async () => {
    const missing = await runCli(['read', '--tcp', tcp, '--unit', '9', '--profile', 'soil-dfrobot']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`E_READ_NO_ANSWER: unit 9 did not answer at ${tcp}`);
    expect(missing.stderr).not.toMatch(/baud|parity|A\/B wiring/); // a TCP read gets no serial-line advice
    const refused = await runCli(['read', '--tcp', tcp, '--unit', '2', '--raw', '--function', '4', '--address', '0']);
    expect(refused.stderr).toMatch(/exception 2 \(illegal data address\)/);
  });

  it('refuses unclear requests before touching the line', async () => {
    const both = await runCli(['read', '--tcp', tcp, '--unit', '1', '--raw', '--address', '0', '--profile', 'soil-dfrobot']);
    expect(both.stderr).toContain('use either --profile or --raw');
    const big = await runCli(['read', '--tcp', tcp, '--unit', '1', '--raw', '--address', '0', '--count', '126']);
    expect(big.stderr).toContain('--count is at most 125');
    const typo = await runCli(['read', '--tcp', tcp, '--unit', '1', '--profile', 'soil-dfrobot', '--points', 'moisture,humidity']);
    expect(typo.stderr).toContain('profile soil-dfrobot has no point "humidity" (it has: moisture, temperature, ec)');
    const write = await runCli(['read', '--tcp', tcp, '--unit', '1', '--raw', '--function', '6', '--address', '0']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/--function.*6.*invalid/i);
  });
});

describe('passerelle read --port (RTU simulator on a pty)', () => {
  it('reads a profile over RTU at 9600 8N1', async () => {
    const pair = await createPtyPair();
    const sim = await startModbusRtuSimulator({
      path: pair.b, baud: 9600, parity: 'none', dataBits: 8, stopBits: 1, paced: true,
      devices: [{ unit: 1, profile: getProfile('eastron-sdm630') }],
    });
    try {
      const r = await runCli(['read', '--port', pair.a, '--unit', '1', '--profile', 'eastron-sdm630', '--json']);
      expect(r.stderr).toBe('');
      const rows = JSON.parse(r.stdout) as JsonRow[];
      expect(rows).toHaveLength(getProfile('eastron-sdm630').points.length);
      for (const row of rows) expect(row.value, row.point).toBe(sim.banks.get(1)!.lastServed(row.point)!.value);
      const silent = await runCli(['read', '--port', pair.a, '--unit', '4', '--profile', 'soil-dfrobot', '--timeout', '200']);
      expect(silent.stderr).toContain(`unit 4 did not answer at 9600 8N1 on ${pair.a}`);
    } finally {
      await sim.close();
      await pair.close();
    }
  });
});
