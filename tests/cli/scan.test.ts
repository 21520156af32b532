import { existsSync, realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProfile } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { startModbusRtuSimulator } from '../../src/sim/modbus-rtu.js';
import { createPtyPair } from '../../src/sim/pty.js';
import { parseTable, runCli } from './cli.js';

/** unit -> profile on the simulated line; unit 3 is wired but dead. */
const TCP_DEVICES: Record<number, string> = { 1: 'eastron-sdm630', 2: 'soil-dfrobot', 3: 'soil-dfrobot', 5: 'eastron-sdm120', 7: 'soil-sensecap', 10: 'diematic3', 254: 'senseair-s8' };

const foundUnits = (stdout: string) => parseTable(stdout).rows.map((r) => Number(r[0]));
const modelOf = (stdout: string, unit: number) => parseTable(stdout).rows.find((r) => Number(r[0]) === unit)?.[2];

describe('passerelle scan --tcp', () => {
  let sim: ModbusTcpSimulator;
  let tcp: string;
  beforeAll(async () => {
    sim = await startModbusTcpSimulator({
      host: '127.0.0.1',
      port: 0,
      devices: Object.entries(TCP_DEVICES).map(([unit, id]) => ({ unit: Number(unit), profile: getProfile(id) })),
    });
    sim.faults.set(3, { kind: 'silent' });
    tcp = `127.0.0.1:${sim.port}`;
  });
  afterAll(() => sim.close());

  it('lists the units that answer with their likely model, progress on stderr', async () => {
    // 300 ms rather than the default 100: the simulator shares a busy test machine.
    const r = await runCli(['scan', '--tcp', tcp, '--ids', '1-9,254', '--timeout', '300']);
    expect(r.code).toBe(0);
    expect(parseTable(r.stdout).header).toEqual(['unit', 'answered', 'likely model']);
    // 3 is silent; 10 (the boiler, 500 ms turnaround) is outside the ids and too slow for 100 ms anyway.
    expect(foundUnits(r.stdout)).toEqual([1, 2, 5, 7, 254]);
    expect(modelOf(r.stdout, 1)).toMatch(/^eastron-sdm630 /);
    expect(modelOf(r.stdout, 5)).toMatch(/^eastron-sdm120 /); // same identify registers as the SDM630
    expect(modelOf(r.stdout, 2)).toMatch(/^soil-dfrobot /);
    expect(modelOf(r.stdout, 7)).toMatch(/^soil-sensecap /);
    expect(modelOf(r.stdout, 254)).toMatch(/^senseair-s8 /);
    expect(r.stderr).toMatch(/scanning id 254 \(10\/10\), 5 found/);
    expect(r.stderr).toMatch(/found unit 7/);
  });

  it('finds a slow device with a longer --timeout, and says when no profile matches', async () => {
    const slow = await runCli(['scan', '--tcp', tcp, '--ids', '10', '--timeout', '1500']);
    expect(slow.code).toBe(0);
    expect(foundUnits(slow.stdout)).toEqual([10]);
    // The Diematic has no identify registers; it answers the Eastron ones (zeros) but serves no Eastron point.
    expect(modelOf(slow.stdout, 10)).toBe('unknown (no profile matches)');
  });

  it('says clearly when nothing answers', async () => {
    const r = await runCli(['scan', '--tcp', tcp, '--ids', '20-30']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`E_SCAN_NOTHING: no device answered at ${tcp} on ids 20-30`);
  });

  it('names a refused connection and bad arguments', async () => {
    const closed = await runCli(['scan', '--tcp', '127.0.0.1:1', '--ids', '1']);
    expect(closed.stderr).toContain('nothing listens on 127.0.0.1:1');
    const ids = await runCli(['scan', '--tcp', tcp, '--ids', '0-3']);
    expect(ids.stderr).toContain('"0-3" is not a unit id range');
    const both = await runCli(['scan', '--tcp', tcp, '--port', '/dev/ttyUSB0']);
    expect(both.stderr).toContain('--port /dev/ttyUSB0 or --tcp HOST:PORT (one of them)');
  });
});

describe('passerelle scan --port (RTU simulator on a pty, 9600 8N1)', () => {
  it('lists the units on the line', async () => {
    const pair = await createPtyPair();
    const sim = await startModbusRtuSimulator({
      path: pair.b, baud: 9600, parity: 'none', dataBits: 8, stopBits: 1, paced: true,
      devices: [{ unit: 1, profile: getProfile('eastron-sdm630') }, { unit: 3, profile: getProfile('soil-dfrobot') }],
    });
    try {
      const r = await runCli(['scan', '--port', pair.a, '--ids', '1-4', '--timeout', '300']);
      expect(r.stderr).not.toMatch(/passerelle:/);
      expect(r.code).toBe(0);
      expect(foundUnits(r.stdout)).toEqual([1, 3]);
      expect(modelOf(r.stdout, 1)).toMatch(/^eastron-sdm630 /);
      expect(modelOf(r.stdout, 3)).toMatch(/^soil-dfrobot /);
    } finally {
      await sim.close();
      await pair.close();
    }
  });

  it('points at the baud rate or parity when replies come back garbled, and at the wiring when none come back', async () => {
    const pair = await createPtyPair();
    const sim = await startModbusRtuSimulator({
      path: pair.b, baud: 9600, parity: 'none', dataBits: 8, stopBits: 1, paced: true,
      devices: [{ unit: 1, profile: getProfile('soil-dfrobot') }],
    });
    try {
      sim.faults.set(1, { kind: 'bad-crc' });
      const garbled = await runCli(['scan', '--port', pair.a, '--ids', '1-2', '--timeout', '300']);
      expect(garbled.code).toBe(2);
      expect(garbled.stderr).toContain('E_SCAN_GARBLED');
      expect(garbled.stderr).toMatch(/probably use another baud rate or parity/);
      sim.faults.set(1, { kind: 'silent' });
      const silent = await runCli(['scan', '--port', pair.a, '--ids', '1-2']);
      expect(silent.stderr).toContain(`no device answered at 9600 8N1 on ${pair.a} on ids 1-2: check the baud rate, parity, A/B wiring and termination`);
    } finally {
      await sim.close();
      await pair.close();
    }
  });

  it('says the port does not exist', async () => {
    const r = await runCli(['scan', '--port', '/dev/ttyUSB-passerelle-test', '--ids', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no such serial port /dev/ttyUSB-passerelle-test; is the USB adapter plugged in? (ls /dev/serial/by-id)');
  });

  const canSwitchUser = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');
  it.skipIf(!canSwitchUser)('points at the dialout group when the port is not ours (run as nobody)', async () => {
    const pair = await createPtyPair();
    try {
      const device = realpathSync(pair.a); // /dev/pts/N, mode 0600, owned by root
      const r = await runCli(['scan', '--port', device, '--ids', '1'], {
        wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`permission denied on ${device}: add your user (or the gateway's) to the dialout group`);
    } finally {
      await pair.close();
    }
  });
});
