/**
 * Issue 16, low: a 1500-character TIC MSG1 made the window's summary larger than maxMessageBytes (1024,
 * which the schema allows) and the exception, thrown from the window-closing timer, stopped the gateway.
 * Every part real: a Linky's frames on a pty, the gateway, its encrypted store. The window must still
 * leave, with the oversized point cut and counted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { encodeTicFrame } from '../../src/drivers/serial/tic/index.js';
import { Gateway, type GatewayEvent } from '../../src/gateway/gateway.js';
import { loadDriverModules } from '../../src/gateway/driver-modules.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { createPtyPair } from '../../src/sim/pty.js';
import { Store } from '../../src/store/store.js';
import { decodeSenml } from '../../src/uplink/senml.js';
import { waitFor } from './helpers.js';

describe('a window with a point larger than a message', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  });

  it('keeps the gateway running and sends the rest of the window, the point cut and counted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-oversized-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const pair = await createPtyPair();
    cleanups.push(() => pair.close());
    const config = configSchema.parse({
      site: { id: 'mairie', name: 'Mairie', clock: { trust: 'always' } },
      gateway: { id: 'gw1' },
      buses: [{ id: 'tic', type: 'serial', port: pair.a, baud: 9600, dataBits: 7, parity: 'even' }],
      devices: [{ id: 'linky', bus: 'tic', protocol: 'tic', tic: { mode: 'standard', labels: ['EAST', 'SINSTS', 'MSG1'] } }],
      aggregation: { window: '2s' },
      store: { path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') },
      uplink: { format: 'senml-json', maxMessageBytes: 1024 },
      policy: { allow: [{ match: '*', statistics: ['count', 'mean', 'last', 'delta'] }], health: ['drops'] },
    });
    const summaries: string[] = [];
    const onEvent = (e: GatewayEvent) => void (e.type === 'summary' && summaries.push(e.summary.id));
    await loadDriverModules(config);
    const gateway = new Gateway({ config, profiles: loadProfiles(), logger: silentLogger(), onEvent });
    await gateway.start();
    let stopped = false;
    cleanups.push(() => (stopped ? undefined : gateway.stop()));

    const meter = new SerialPort({ path: pair.b, baudRate: 9600, dataBits: 7, parity: 'even' });
    cleanups.push(() => new Promise<void>((r) => (meter.isOpen ? meter.close(() => r()) : r())));
    const message = 'TRAVAUX '.repeat(190).slice(0, 1500);
    let index = 3_519_702;
    const timer = setInterval(() => {
      index += 3;
      const frame = encodeTicFrame(
        [
          { label: 'EAST', value: String(index).padStart(9, '0') },
          { label: 'SINSTS', value: '01500' },
          { label: 'MSG1', value: message },
        ],
        'standard',
      );
      meter.write(Buffer.from(frame));
    }, 300);
    cleanups.push(() => clearInterval(timer));

    await waitFor(() => summaries.length >= 2, 15_000, 'two windows closed');
    clearInterval(timer);
    await gateway.stop();
    stopped = true;

    const store = Store.open({ path: config.store.path, keyFile: config.store.keyFile, logger: silentLogger() });
    cleanups.push(() => store.close());
    const messages = store.peek(100);
    const records = messages.filter((m) => m.topic.endsWith('/summary')).flatMap((m) => decodeSenml(m.payload, 'senml-json'));
    for (const m of messages) expect(m.payload.length).toBeLessThanOrEqual(1024);
    const names = records.map((r) => r.n);
    expect(names).toContain('linky/east/delta');
    expect(names).toContain('linky/sinsts/mean');
    expect(names).toContain('linky/msg1/count'); // the point stays, its 1500-character value does not
    expect(names).not.toContain('linky/msg1/last');
    expect(records.find((r) => r.n === 'drops/points')?.v).toBeGreaterThanOrEqual(1);
  }, 40_000);
});
