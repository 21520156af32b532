/** 16.3: a broker URL with credentials (from code: the config refuses them) never reaches a log line. */
import { afterEach, describe, expect, it } from 'vitest';
import { MqttUplink } from '../../src/uplink/mqtt-uplink.js';
import { startMosquitto } from '../helpers/brokers.js';
import { MemoryOutbox } from '../helpers/memory-outbox.js';
import { capturingLogger } from '../store/helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('broker URLs in logs', () => {
  it('connected, lost and failed lines show the URL without its password (real Mosquitto)', async () => {
    const broker = await startMosquitto({ users: { gw: 'pw-in-url' } });
    cleanups.push(() => broker.close());
    const { logger, lines } = capturingLogger();
    const uplink = new MqttUplink({
      url: `mqtt://gw:pw-in-url@127.0.0.1:${broker.port}`, site: 's', gateway: 'g', topicPrefix: 'p', outbox: new MemoryOutbox(), logger,
      reconnectBaseMs: 50, reconnectCapMs: 100, connectTimeoutMs: 2000,
    });
    cleanups.push(() => uplink.stop());
    await uplink.start();
    expect(uplink.stats().connected).toBe(true); // the credentials in the URL were used
    await broker.kill();
    await until(() => lines.some((l) => l.includes('broker connection failed')));

    const urlLines = lines.filter((l) => l.includes('"url"'));
    expect(urlLines.map((l) => JSON.parse(l).msg)).toEqual(expect.arrayContaining(['broker connected', expect.stringMatching(/^broker connection lost/), expect.stringMatching(/^broker connection failed/)]));
    for (const line of urlLines) expect(line).toContain(`mqtt://***@127.0.0.1:${broker.port}`);
    expect(lines.join('\n')).not.toContain('pw-in-url');
  }, 30_000);
});
