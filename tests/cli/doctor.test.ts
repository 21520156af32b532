/**
 * `passerelle doctor` against prepared fixtures: a key file others can read, a missing port, a pty that
 * sends garbage, an expired and a wrong-host certificate from a test CA on a Mosquitto TLS listener, a
 * broker refusing the password; and a healthy broker for the round trip.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SerialPort } from 'serialport';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/cli/doctor/index.js';
import { exitCodeOf, type Finding } from '../../src/cli/doctor/verdict.js';
import { nodeVersionFinding } from '../../src/cli/doctor/runtime-checks.js';
import { createPtyPair } from '../../src/sim/pty.js';
import { startTicSimulator } from '../../src/sim/tic.js';
import { startModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { getProfile } from '../../src/profiles/index.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { runCli } from './cli.js';

const run = promisify(execFile);
const KEY_HEX = `${'ab'.repeat(32)}\n`;

let dir: string;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A site with no devices unless given, its store in a temp dir, and `extra` YAML appended. */
function site(extra = '', uplink = ''): string {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-doctor-'));
  const file = join(dir, 'site.yaml');
  writeFileSync(file, `site: { id: doc-site, name: Doctor test }\ngateway: { id: gw-1 }\nstore: { path: ${dir}/site.db, keyFile: ${dir}/site.key }\n${uplink}${extra}`);
  return file;
}

const find = (findings: Finding[], check: string): Finding | undefined => findings.find((f) => f.check === check);
const NO_ADAPTERS = { adapters: [] };

describe('passerelle doctor: the runtime', () => {
  it('passes a supported Node, warns past its end of life, fails an unsupported line', () => {
    const day = new Date('2026-12-02T00:00:00Z');
    expect(nodeVersionFinding('24.11.0', day).verdict).toBe('pass');
    expect(nodeVersionFinding('20.20.2', day)).toMatchObject({ verdict: 'warn', detail: expect.stringContaining('2026-04-30') });
    expect(nodeVersionFinding('20.20.2', new Date('2026-01-01T00:00:00Z')).verdict).toBe('pass');
    expect(nodeVersionFinding('18.20.0', day).verdict).toBe('fail');
  });
});

describe('passerelle doctor: files, ports and devices', () => {
  it('fails a key file other users can read, with the chmod to run', async () => {
    const file = site();
    writeFileSync(join(dir, 'site.key'), KEY_HEX, { mode: 0o644 });
    chmodSync(join(dir, 'site.key'), 0o644);
    const findings = await diagnose(file, NO_ADAPTERS);
    expect(find(findings, 'store.key-file')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('mode 0644'), fix: expect.stringContaining('chmod 600') });
    expect(exitCodeOf(findings)).toBe(2);
    chmodSync(join(dir, 'site.key'), 0o600);
    expect(find(await diagnose(file, NO_ADAPTERS), 'store.key-file')?.verdict).toBe('pass');
  });

  it('fails a missing serial port with the serial module\'s wording, and does not probe its device', async () => {
    const file = site('buses:\n  - { id: line1, type: serial, port: /dev/ttyUSB-passerelle-missing }\ndevices:\n  - { id: meter, bus: line1, unit: 1, profile: eastron-sdm630 }\n');
    const findings = await diagnose(file, NO_ADAPTERS);
    expect(find(findings, 'serial.port:line1')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('E_SERIAL_NOT_FOUND: no such serial port /dev/ttyUSB-passerelle-missing: is the adapter plugged in?') });
    expect(find(findings, 'device:meter')).toBeUndefined();
  });

  it('fails a TIC line that sends garbage, and passes one that sends frames', async () => {
    const pair = await createPtyPair();
    const sender = new SerialPort({ path: pair.b, baudRate: 9600, autoOpen: false });
    await new Promise<void>((resolve, reject) => sender.open((e) => (e ? reject(e) : resolve())));
    const noise = setInterval(() => sender.write(Buffer.from([0x55, 0xaa, 0x02, 0x0a, 0x41, 0x09, 0x31, 0x0d, 0x13, 0x03, 0xff].map((b, i) => (b + Date.now() + i) & 0xff))), 50);
    try {
      const file = site(`buses:\n  - { id: tic, type: serial, port: ${pair.a}, baud: 9600, parity: even, dataBits: 7 }\ndevices:\n  - { id: linky, bus: tic, protocol: tic, tic: { mode: standard } }\n`);
      const findings = await diagnose(file, { ...NO_ADAPTERS, ticListenMs: 1500 });
      expect(find(findings, 'serial.port:tic')?.verdict).toBe('pass');
      expect(find(findings, 'device:linky')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('bytes but no valid TIC frame') });
      clearInterval(noise);
      await new Promise((r) => sender.close(r));
      const meter = await startTicSimulator({ path: pair.b, mode: 'standard', paceBaud: 0, gapMs: 100 });
      try {
        expect(find(await diagnose(file, { ...NO_ADAPTERS, ticListenMs: 5000 }), 'device:linky')).toMatchObject({ verdict: 'pass', detail: expect.stringContaining('good checksums at 9600 baud') });
      } finally {
        await meter.stop();
      }
    } finally {
      clearInterval(noise);
      if (sender.isOpen) await new Promise((r) => sender.close(r));
      await pair.close();
    }
  }, 60_000);

  it("judges a port by the gateway's account, not by the root running the doctor", async () => {
    const pair = await createPtyPair(); // /dev/pts/N: root's, group tty, mode 0620
    try {
      const file = site(`buses:\n  - { id: line1, type: serial, port: ${pair.a} }\n`);
      const nobody = { name: 'nobody', uid: 65534, gids: [65534] };
      expect(find(await diagnose(file, { ...NO_ADAPTERS, gatewayUser: nobody }), 'serial.port:line1')).toMatchObject({ verdict: 'fail', fix: expect.stringContaining('usermod -aG dialout nobody') });
      expect(find(await diagnose(file, { ...NO_ADAPTERS, gatewayUser: null }), 'serial.port:line1')?.verdict).toBe('pass');
    } finally {
      await pair.close();
    }
  }, 60_000);

  it('asks each Modbus device one configured register: answered, silent', async () => {
    const sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [1, 2].map((unit) => ({ unit, profile: getProfile('soil-dfrobot') })) });
    try {
      sim.faults.set(2, { kind: 'silent' });
      const file = site(`buses:\n  - { id: lan, type: tcp, host: 127.0.0.1, port: ${sim.port}, timeout: 300ms }\ndevices:\n  - { id: probe1, bus: lan, unit: 1, profile: soil-dfrobot }\n  - { id: probe2, bus: lan, unit: 2, profile: soil-dfrobot }\n`);
      const findings = await diagnose(file, NO_ADAPTERS);
      expect(find(findings, 'device:probe1')).toMatchObject({ verdict: 'pass', detail: expect.stringContaining('answered unit 1') });
      expect(find(findings, 'device:probe2')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('no answer'), fix: expect.stringContaining('unit id') });
    } finally {
      await sim.close();
    }
  }, 60_000);

  it('warns about an FTDI latency timer left at 16 ms', async () => {
    const pair = await createPtyPair();
    try {
      const file = site(`buses:\n  - { id: line1, type: serial, port: ${pair.a} }\n`);
      const ftdi = { tty: 'pts', device: realpathSync(pair.a), vendorId: '0403', productId: '6001', serial: 'A1', driver: 'ftdi_sio' };
      const slow = await diagnose(file, { adapters: [{ ...ftdi, latencyMs: 16 }], gatewayUser: null });
      expect(find(slow, 'serial.latency:line1')).toMatchObject({ verdict: 'warn', fix: expect.stringContaining('60-passerelle.rules') });
      const fast = await diagnose(file, { adapters: [{ ...ftdi, latencyMs: 1 }], gatewayUser: null });
      expect(find(fast, 'serial.latency:line1')).toBeUndefined();
    } finally {
      await pair.close();
    }
  }, 60_000);

  it('warns about two adapters that cannot be told apart', async () => {
    const file = site();
    const twin = { tty: 'ttyUSB0', device: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serial: 'A1' };
    const findings = await diagnose(file, { adapters: [twin, { ...twin, tty: 'ttyUSB1', device: '/dev/ttyUSB1' }] });
    expect(find(findings, 'serial.adapters')).toMatchObject({ verdict: 'warn', detail: expect.stringContaining('/dev/ttyUSB0, /dev/ttyUSB1') });
  });
});

describe('passerelle doctor: the broker', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
    const d = pki.dir;
    const openssl = (args: string[]) => run('openssl', args, { cwd: d });
    // A server key and two certificates from the test CA: one long expired, one for another host.
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=broker', '-keyout', 'doc.key', '-out', 'doc.csr']);
    chmodSync(join(d, 'doc.key'), 0o644); // mosquitto's own user reads it
    writeFileSync(join(d, 'index.txt'), '');
    writeFileSync(join(d, 'serial'), '1000\n');
    writeFileSync(join(d, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n');
    writeFileSync(join(d, 'ip.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    writeFileSync(join(d, 'other-host.ext'), 'subjectAltName=DNS:broker.elsewhere.example\nextendedKeyUsage=serverAuth\n');
    const sign = (out: string, ext: string, start: string, end: string) =>
      openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', 'doc.csr', '-out', out, '-extfile', ext, '-startdate', start, '-enddate', end, '-notext']);
    await sign('expired.crt', 'ip.ext', '20200101000000Z', '20200102000000Z');
    await sign('other-host.crt', 'other-host.ext', '20250101000000Z', '20400101000000Z');
  }, 60_000);
  afterAll(() => pki?.remove());

  let broker: MosquittoBroker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  const tlsSite = (url: string) => site('', `uplink: { broker: "${url}", caFile: ${pki.caFile} }\n`);

  it('fails an expired broker certificate', async () => {
    broker = await startMosquitto({ tls: { caFile: pki.caFile, certFile: join(pki.dir, 'expired.crt'), keyFile: join(pki.dir, 'doc.key') } });
    const findings = await diagnose(tlsSite(broker.url), NO_ADAPTERS);
    expect(find(findings, 'broker.tcp')?.verdict).toBe('pass');
    expect(find(findings, 'broker.tls-expiry')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('expired on Jan  2') });
    expect(find(findings, 'broker.mqtt')).toBeUndefined();
  }, 60_000);

  it('fails a certificate made for another host, though its chain is good', async () => {
    broker = await startMosquitto({ tls: { caFile: pki.caFile, certFile: join(pki.dir, 'other-host.crt'), keyFile: join(pki.dir, 'doc.key') } });
    const findings = await diagnose(tlsSite(broker.url), NO_ADAPTERS);
    expect(find(findings, 'broker.tls-chain')?.verdict).toBe('pass');
    expect(find(findings, 'broker.tls-host')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('not for 127.0.0.1') });
  }, 60_000);

  it('fails a refused password, and passes CONNACK and the round trip with the right one (exit code and JSON through the CLI)', async () => {
    broker = await startMosquitto({ users: { 'gw-1': 'right-password' } });
    const file = site('', `uplink: { broker: "${broker.url}", usernameFile: DIR/user, passwordFile: DIR/pass }\n`);
    const text = (await import('node:fs')).readFileSync(file, 'utf8').replaceAll('DIR', dir);
    writeFileSync(file, text);
    writeFileSync(join(dir, 'user'), 'gw-1\n');
    writeFileSync(join(dir, 'pass'), 'wrong-password\n', { mode: 0o600 });
    const refused = await diagnose(file, NO_ADAPTERS);
    expect(find(refused, 'broker.mqtt')).toMatchObject({ verdict: 'fail', detail: expect.stringContaining("refused the site's credentials") });

    writeFileSync(join(dir, 'pass'), 'right-password\n', { mode: 0o600 });
    const r = await runCli(['doctor', '--config', file, '--json'], { timeoutMs: 90_000 });
    const out = JSON.parse(r.stdout) as { findings: Finding[]; exitCode: number };
    expect(find(out.findings, 'broker.mqtt')?.verdict).toBe('pass');
    expect(find(out.findings, 'broker.round-trip')?.verdict).toBe('pass');
    expect(r.code).toBe(out.exitCode);
    expect(r.stdout).not.toContain('right-password');
  }, 120_000);
});
