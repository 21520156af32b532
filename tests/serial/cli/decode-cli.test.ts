/** `passerelle decode` and `passerelle simulate --pty` as a technician runs them: a spawned process. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTicFrame } from '../../../src/drivers/serial/tic/index.js';
import { crc16arc, sdi12CrcChars } from '../../../src/drivers/serial/sdi12/index.js';
import { decodeCommand } from '../../../src/cli/commands/decode.js';
import { TicDecoder } from '../../../src/drivers/serial/tic/index.js';

const RUNNER = 'tests/serial/cli/run-serial-cli.ts';
const METER = '012345678910';

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], stdin?: Buffer): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

const lines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('passerelle decode', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-decode-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('decodes a TIC capture with noise and a bad group, hides the meter id, exits 0', async () => {
    const frame = Buffer.from(encodeTicFrame([{ label: 'ADSC', value: METER }, { label: 'EAST', value: '003519702' }, { label: 'SINSTS', value: '00263' }], 'standard'));
    const bad = Buffer.from(frame);
    bad[bad.indexOf('EAST') + 15] = 0x30; // EAST's checksum char
    const file = join(dir, 'tic.bin');
    await writeFile(file, Buffer.concat([Buffer.from('\x7f\x11garbage'), frame, bad]));
    const result = await run(['decode', '--protocol', 'tic', file]);
    expect(result.code).toBe(0);
    const records = lines(result.stdout);
    expect(records.filter((r) => r.label === 'EAST' && r.ok)).toEqual([expect.objectContaining({ value: 3519702, unit: 'Wh', frame: 1 })]);
    expect(records.filter((r) => r.ok === false)).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: 'E_TIC_CHECKSUM' }), frame: 2 })]);
    expect(records.filter((r) => r.label === 'SINSTS')).toHaveLength(2);
    expect(result.stdout).not.toContain(METER);
    const shown = await run(['decode', '--protocol', 'tic', '--show-identifiers', file]);
    expect(shown.stdout).toContain(METER);
  }, 30_000);

  it('reads stdin, decodes SDI-12 replies with CRC, and lines with a pattern', async () => {
    const body = '0+21.5-3.25';
    const sdi = await run(['decode', '--protocol', 'sdi12', '--crc', '-'], Buffer.from(`${body}${sdi12CrcChars(crc16arc(body))}\r\n${body}AAA\r\n`));
    expect(sdi.code).toBe(0);
    expect(lines(sdi.stdout)).toEqual([
      expect.objectContaining({ ok: true, values: [21.5, -3.25] }),
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'E_SDI12_CRC' }) }),
    ]);
    const line = await run(['decode', '--protocol', 'line', '--pattern', 'T=(?<T>\\S+) H=(?<H>\\S+)'], Buffer.from('T=21.4 H=40\r\nnoise\nT=x H=1\n'));
    expect(lines(line.stdout)).toEqual([
      { protocol: 'line', ok: true, values: { T: 21.4, H: 40 } },
      expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'E_LINE_NOMATCH' }) }),
      expect.objectContaining({ ok: false, field: 'T', error: expect.objectContaining({ code: 'E_LINE_VALUE' }) }),
      { protocol: 'line', ok: true, values: { H: 1 } },
    ]);
  }, 30_000);

  it('takes a line device from a site config, naming the config line when it is wrong', async () => {
    const config = join(dir, 'site.yaml');
    const site = (pattern: string) => `site: { id: s, name: S }
gateway: { id: g }
buses:
  - { id: com, type: serial, port: /dev/ttyUSB0 }
devices:
  - id: thermo
    bus: com
    protocol: line
    line:
      pattern: '${pattern}'
      fields: { T: { unit: Cel, class: comfort } }
store: { path: /tmp/x.db, keyFile: /tmp/x.key }
`;
    await writeFile(config, site('T=(?<T>[-0-9.]+)'));
    const ok = await run(['decode', '--protocol', 'line', '--config', config, '--device', 'thermo'], Buffer.from('T=19.5;H=3\n'));
    expect(lines(ok.stdout)).toEqual([{ protocol: 'line', ok: true, values: { T: 19.5 } }]);
    await writeFile(config, site('T=(?<T>[-0-9.]+'));
    const bad = await run(['decode', '--protocol', 'line', '--config', config, '--device', 'thermo'], Buffer.from('T=1\n'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/site\.yaml:10:\d+/);
    expect(bad.stderr).toMatch(/regular expression/);
  }, 30_000);

  it('exits 1 for an unreadable file or wrong options, naming the problem', async () => {
    const missing = await run(['decode', '--protocol', 'tic', join(dir, 'nope.bin')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('E_DECODE_INPUT');
    const out = { text: '', err: '', stdout(t: string) { this.text += t; }, stderr(t: string) { this.err += t; } };
    expect(await decodeCommand('-', { protocol: 'tic', pattern: 'x' }, out)).toBe(1);
    expect(out.err).toContain('--pattern');
    expect(await decodeCommand('-', { protocol: 'line', pattern: '(' }, out)).toBe(1);
    expect(out.err).toContain('E_LINE_PATTERN');
  }, 30_000);
});

describe('passerelle simulate --pty', () => {
  it('prints the pty path; a frame read there decodes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, 'simulate', '--profile', 'linky-tic-standard', '--pty'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stdout = '';
      const path = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no path printed: ${stdout}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /connect the gateway to (\S+)/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      expect(stdout).toContain('protocol: tic');
      const port = new SerialPort({ path, baudRate: 9600, dataBits: 7, parity: 'even' });
      const decoder = new TicDecoder();
      const frames = await new Promise<number>((resolve) => {
        port.on('data', (chunk: Buffer) => {
          const n = decoder.push(chunk).filter((e) => e.type === 'frame').length;
          if (n > 0) resolve(n);
        });
      });
      expect(frames).toBeGreaterThan(0);
      expect(decoder.stats().checksumErrors).toBe(0);
      await new Promise((r) => port.close(r));
    } finally {
      child.kill('SIGINT');
      await new Promise((r) => child.once('close', r));
    }
  }, 30_000);
});
