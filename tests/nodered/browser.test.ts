/**
 * The editor in a real browser (Debian's chromium, driven by playwright-core), as a technician uses it,
 * on a real gateway polling a Modbus simulator: log in, import a flow of Passerelle nodes, deploy, see
 * the simulator's live readings in the debug pane, log out. A screenshot of the editor with its debug
 * pane is kept in tests/artifacts/ (git-ignored; CI keeps it as an artefact).
 */
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { freePort } from '../helpers/brokers.js';
import { ROOT } from '../cli/cli.js';
import { api, noderedConfig, PASSWORD, setPassword, waitForEditor } from './helpers.js';

const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
let dir: string;
let sim: ModbusTcpSimulator;
let gateway: Gateway;
let browser: Browser;
let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nr-browser-'));
  const profiles = loadProfiles();
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
  const nodered = noderedConfig(dir, await freePort());
  setPassword(nodered);
  const config = configSchema.parse({
    site: { id: 'nr-browser', name: 'Editor in a browser', clock: { trust: 'always' } },
    gateway: { id: 'gw-browser' },
    buses: [{ id: 'plant', type: 'tcp', host: '127.0.0.1', port: sim.port, timeout: '500ms' }],
    devices: [{ id: 'meter', bus: 'plant', unit: 1, profile: 'eastron-sdm630', poll: '1s', points: ['power_total'] }],
    aggregation: { window: '10s' },
    store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
    nodered,
  });
  gateway = new Gateway({ config, profiles, logger: silentLogger() });
  await gateway.start();
  base = gateway.noderedState()!.url;
  const [launched] = await Promise.all([
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--headless=new'] }),
    waitForEditor(base),
  ]);
  browser = launched;
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What a technician imports to watch a meter: the gateway's readings of it, through the bridge, in the debug pane. */
const LIVE_FLOW = [
  { id: 'gw', type: 'passerelle-gateway', name: 'this gateway', socket: '' },
  { id: 'in', type: 'passerelle in', name: 'meter', gateway: 'gw', kind: 'readings', match: 'meter.*', x: 150, y: 80, wires: [['out']] },
  { id: 'out', type: 'debug', name: 'live', active: true, tosidebar: true, complete: 'true', x: 380, y: 80, wires: [] },
];

describe('the editor in a browser', () => {
  it('logs in, imports and deploys a flow, shows the simulator readings live in the debug pane, logs out', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
    await page.goto(base);
    await page.fill('#node-dialog-login-username', 'admin');
    await page.fill('#node-dialog-login-password', PASSWORD);
    await page.click('#node-dialog-login-submit');
    await page.waitForSelector('#red-ui-workspace-chart', { timeout: 60_000 });
    await page.waitForSelector('#red-ui-palette-container .red-ui-palette-node', { timeout: 60_000 });

    // Import: menu > Import, paste the flow, then drop the nodes on the workspace.
    await page.click('#red-ui-header-button-sidemenu');
    await page.click('#menu-item-import');
    await page.fill('#red-ui-clipboard-dialog-import-text', JSON.stringify(LIVE_FLOW));
    await page.press('#red-ui-clipboard-dialog-import-text', 'End'); // the dialog validates on keyup
    await page.click('#red-ui-clipboard-dialog-ok');
    await page.mouse.click(400, 300);

    await page.click('#red-ui-header-button-deploy');
    // Page-side code as strings: the test is compiled without the DOM types.
    await page.waitForFunction("!document.querySelector('#red-ui-header-button-deploy').classList.contains('red-ui-deploy-button-armed')", undefined, { timeout: 30_000 });

    await page.click('#red-ui-tab-debug-link-button');
    const messages = page.locator('.red-ui-debug-msg', { hasText: 'power_total' });
    await messages.first().waitFor({ timeout: 30_000 });
    const before = await messages.count();
    await page.waitForFunction(`document.querySelectorAll('.red-ui-debug-msg').length > ${before}`, undefined, { timeout: 15_000 });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'node-red-editor.png') });

    const session = (await page.evaluate("JSON.parse(localStorage.getItem('auth-tokens') || 'null')?.access_token")) as string | undefined;
    expect(session).toBeTruthy();
    expect((await api(base, 'flows', { token: session })).status).toBe(200);

    await page.click('#red-ui-header-button-user');
    await page.click('#usermenu-item-logout');
    await page.waitForSelector('#node-dialog-login-username', { timeout: 30_000 });
    // The session is revoked on the server, not only forgotten by the browser.
    expect((await api(base, 'flows', { token: session })).status).toBe(401);
    await page.close();
  }, 180_000);
});
