/** `passerelle scan --mbus`, `read --mbus`, `simulate` of an M-Bus meter and `decode --protocol mbus`, run as a user does. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSerialSimulation, type SerialSimulation } from '../../src/cli/commands/simulate-serial.js';
import { runCli, ROOT } from './cli.js';

describe('M-Bus technician tools over a pty', () => {
  let sim: SerialSimulation;
  let printed = '';
  beforeAll(async () => {
    sim = await startSerialSimulation({ profile: 'kamstrup-multical-601', pty: true, mbusAddress: '3' }, { stdout: (t) => (printed += t), stderr: () => undefined });
  });
  afterAll(() => sim.stop());

  it('simulate prints where to connect and the config lines', () => {
    expect(printed).toContain(`connect the gateway to ${sim.connectTo}`);
    expect(printed).toContain('protocol: mbus, profile: kamstrup-multical-601');
    expect(printed).toContain('mbus: { address: 3 }');
  });

  it('scan --mbus finds the heat meter at its primary address and by the secondary search, naming it', async () => {
    const r = await runCli(['scan', '--mbus', '--port', sim.connectTo, '--ids', '1-4'], { timeoutMs: 90_000 });
    expect(r.stderr).toContain('secondary search');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^address\s+id \(secondary\)\s+manufacturer/);
    expect(lines).toHaveLength(2); // found twice, listed once
    expect(lines[1]).toMatch(/^3\s+71234567\s+KAM\s+8\s+Heat \(outlet\)\s+ok\s+kamstrup-multical-601$/);
  }, 90_000);

  it('read --mbus prints the profile points with the values served, identifiers hidden', async () => {
    const r = await runCli(['read', '--mbus', '--port', sim.connectTo, '--unit', '3', '--profile', 'kamstrup-multical-601', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { meter: { id: string; manufacturer: string }; rows: { point: string; value: unknown; unit?: string }[] };
    expect(out.meter).toMatchObject({ id: '(hidden identifier)', manufacturer: 'KAM' });
    expect(out.rows.find((x) => x.point === 'fabrication_number')?.value).toBe('(hidden identifier)');
    const energy = out.rows.find((x) => x.point === 'energy')!;
    expect(energy.unit).toBe('kWh');
    expect(energy.value as number).toBeGreaterThanOrEqual(37351);
  });

  it('read --mbus by secondary address lists every record under its generic name', async () => {
    const r = await runCli(['read', '--mbus', '--port', sim.connectTo, '--secondary', '71234567', '--show-identifiers']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('KAM version 8, Heat (outlet), id 71234567');
    expect(r.stdout).toMatch(/\nenergy\s+\d+(\.\d)?\s+Wh\s+instantaneous/);
    expect(r.stdout).toMatch(/\npower_maximum\s+44800\s+W\s+maximum/);
    expect(r.stdout).toMatch(/\nenergy_s1\s+33361000\s+Wh/);
  });

  it('read --mbus says so when nobody answers', async () => {
    const r = await runCli(['read', '--mbus', '--port', sim.connectTo, '--unit', '9']);
    expect(r.code).toBe(2); // as a Modbus unit that does not answer
    expect(r.stderr).toContain('E_READ_NO_ANSWER: no answer from address 9');
  });
});

describe('passerelle decode --protocol mbus', () => {
  it("decodes a real meter's capture, one JSON line per record", async () => {
    const hexFile = join(ROOT, 'tests', 'fixtures', 'mbus', 'engelmann_sensostar2c.hex');
    const { readFileSync, writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const bin = join(mkdtempSync(join(tmpdir(), 'mbus-decode-')), 'capture.bin');
    writeFileSync(bin, Buffer.from(readFileSync(hexFile, 'utf8').replace(/[^0-9a-fA-F]/g, ''), 'hex'));
    const r = await runCli(['decode', '--protocol', 'mbus', bin]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(24);
    expect(lines[3]).toMatchObject({ protocol: 'mbus', ok: true, frame: 1, record: 3, quantity: 'energy', value: 800000, unit: 'Wh', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, description: 'Energy' });
    expect(lines[0]).toMatchObject({ quantity: 'fabrication_number', value: '(hidden identifier)' });
  });
});
