/**
 * Issue 14 items 3 to 5 in a real browser (Debian chromium through playwright-core), every part real:
 * Modbus TCP simulator -> gateway -> Mosquitto, the status page live over server-sent events, a login
 * off 127.0.0.1 (TLS listener, test CA), and the transparency report, whose totals must equal what a
 * subscriber counted on the broker. The screenshot is kept in tests/artifacts/ (git-ignored).
 */
import bcrypt from 'bcryptjs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { chromium, type Browser } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { dayIn } from '../../src/core/ledger.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { freePort, startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { ROOT, runCli } from '../cli/cli.js';

const profiles = loadProfiles();
const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
const SITE = `status-${process.pid}`;

let browser: Browser;
let dir: string;
let sim: ModbusTcpSimulator;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new'] });
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await sim?.close();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function siteInput(d: string, extra: Record<string, unknown>) {
  return {
    site: { id: SITE, name: 'Status page test', timezone: 'Europe/Paris', clock: { trust: 'always' } },
    gateway: { id: 'gw-1' },
    buses: [{ id: 'plant', type: 'tcp', host: '127.0.0.1', port: sim.port, timeout: '500ms' }],
    devices: [{ id: 'meter', bus: 'plant', unit: 1, profile: 'eastron-sdm630', poll: '500ms', points: ['voltage_l1', 'power_total'] }],
    aggregation: { window: '2s' },
    store: { path: join(d, 'gw.db'), keyFile: join(d, 'gw.key') },
    policy: { allow: [{ match: 'meter.power_total', statistics: ['mean', 'max'] }] },
    ...extra,
  };
}

async function startGateway(input: Record<string, unknown>): Promise<Gateway> {
  const gateway = new Gateway({ config: configSchema.parse(input), profiles, logger: silentLogger() });
  await gateway.start();
  cleanups.push(() => gateway.stop());
  return gateway;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the status page and the report in a real browser', () => {
  let broker: MosquittoBroker;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-status-'));
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows live values that change as the simulator moves, what left beside what stayed, and a report matching the broker', async () => {
    const port = await freePort();
    const input = siteInput(dir, { uplink: { broker: broker.url }, status: { listen: `127.0.0.1:${port}` } });
    const counted: string[] = [];
    const sub = mqtt.connect(broker.url, { clientId: `count-${SITE}` });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (_t, payload) => counted.push(payload.toString('utf8')));
    await sub.subscribeAsync(`passerelle/${SITE}/gw-1/summary`, { qos: 1 });

    const gateway = await startGateway(input);
    expect(gateway.statusUrl).toBe(`http://127.0.0.1:${port}/`);
    const page = await browser.newPage();
    cleanups.push(() => page.close());
    await page.goto(gateway.statusUrl!); // 127.0.0.1: no login
    const cell = page.locator('tr[data-point="meter.power_total"] td.value');
    const first = await until('a first value', async () => {
      const t = (await cell.textContent())?.trim();
      return t && !t.startsWith('—') ? t : undefined;
    });
    // Live: the page itself changes (server-sent events), no reload.
    await until('the value to move', async () => ((await cell.textContent())?.trim() !== first ? true : undefined));
    // What left: the payload exactly as the subscriber received it; what stayed: voltage, kept local.
    const sentText = await until('a summary shown as sent', async () => (await page.locator('#sent pre.payload').first().textContent()) || undefined);
    await until('the subscriber to have it', () => (counted.includes(sentText) ? true : undefined));
    expect(await page.locator('#local').textContent()).toContain('voltage_l1');
    expect(sentText).not.toContain('voltage_l1');
    await until('a chart drawn by uPlot', async () => ((await page.locator('#charts canvas').count()) > 0 ? true : undefined));
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });

    await until('a few windows sent', () => (counted.length >= 3 ? true : undefined));
    await gateway.stop();
    await new Promise((r) => setTimeout(r, 500)); // the last PUBACKed publish reaches the subscriber
    const configFile = join(dir, 'site.yaml');
    await writeFile(configFile, stringify(input));
    const day = dayIn('Europe/Paris');
    const [from, to] = [day(Date.now() - 86_400_000), day(Date.now() + 86_400_000)];
    const html = join(dir, 'report.html');
    const json = await runCli(['report', '--config', configFile, '--from', from, '--to', to, '--out', html, '--json']);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const figures = JSON.parse(json.stdout);
    expect(figures.totals.messagesSent).toBe(counted.length);
    expect(figures.totals.bytesSent).toBe(counted.reduce((n, m) => n + Buffer.byteLength(m), 0));
    expect(figures.points.find((p: { point: string }) => p.point === 'meter.voltage_l1')).toMatchObject({ left: [] });

    const report = await browser.newPage();
    cleanups.push(() => report.close());
    await report.goto(`file://${html}`);
    expect(await report.locator('#total-messages').textContent()).toBe(counted.length.toLocaleString('en-GB'));
    expect(await report.locator('svg.chart').count()).toBe(2);
    await report.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
  }, 120_000);
});

describe('the status page off 127.0.0.1', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
    await chmod(pki.serverKeyFile, 0o600);
  });
  afterAll(async () => pki?.remove());

  it('asks for the admin password over TLS, refuses a wrong one and limits attempts per address (429)', async () => {
    const d = await mkdtemp(join(tmpdir(), 'passerelle-status-lan-'));
    cleanups.push(() => rm(d, { recursive: true, force: true }));
    const hashFile = join(d, 'admin.hash');
    await writeFile(hashFile, `${bcrypt.hashSync('correct horse', 4)}\n`, { mode: 0o600 });
    const port = await freePort();
    const status = { listen: `0.0.0.0:${port}`, tlsCertFile: pki.serverCertFile, tlsKeyFile: pki.serverKeyFile, auth: { passwordHashFile: hashFile, maxFailuresPerIp: 3 } };
    await startGateway(siteInput(d, { status }));
    const url = `https://127.0.0.1:${port}/`;

    const context = await browser.newContext({ ignoreHTTPSErrors: true }); // the test CA is not the browser's
    cleanups.push(() => context.close());
    const page = await context.newPage();
    expect((await page.request.get(`${url}snapshot.json`)).status()).toBe(401);
    await page.goto(url);
    await expect(page.locator('input[type=password]').count()).resolves.toBe(1);
    await page.fill('input[type=password]', 'wrong');
    await page.click('button[type=submit]');
    await expect(page.locator('.error').textContent()).resolves.toBe('Wrong password.');
    await page.fill('input[type=password]', 'correct horse');
    await page.click('button[type=submit]');
    await until('live values after login', async () => {
      const t = (await page.locator('tr[data-point="meter.power_total"] td.value').textContent().catch(() => null))?.trim();
      return t && !t.startsWith('—') ? t : undefined;
    });

    // A stranger on the LAN guessing: after 3 failures even the right password gets 429.
    const guess = (password: string) => page.request.post(`${url}login`, { form: { password }, maxRedirects: 0 });
    for (let i = 0; i < 3; i++) expect((await guess(`guess-${i}`)).status()).toBe(401);
    expect((await guess('correct horse')).status()).toBe(429);
  }, 120_000);

  it('is refused by check off 127.0.0.1 without TLS and a login, with the file position', async () => {
    const d = await mkdtemp(join(tmpdir(), 'passerelle-status-check-'));
    cleanups.push(() => rm(d, { recursive: true, force: true }));
    const file = join(d, 'site.yaml');
    await writeFile(file, stringify(siteInput(d, { status: { listen: '0.0.0.0:8443' } })));
    const result = await runCli(['check', file]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+ status\\.listen: 0\\.0\\.0\\.0 is reachable from the network: the page needs TLS there`));
    expect(result.stdout + result.stderr).toMatch(/the page needs a login there \(auth\.passwordHashFile\)/);
  }, 60_000);
});
