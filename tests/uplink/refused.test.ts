/**
 * Issue 14 item 6: a summary the broker refuses for good (MQTT 5 PUBACK 0x87, not authorised, from
 * Mosquitto's ACL) is set aside in the store, counted and kept for the audit trail; the messages behind
 * it are delivered at once instead of waiting behind it.
 */
import { connect } from 'mqtt';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { Store } from '../../src/store/store.js';
import { healthTopic, MqttUplink, summaryTopic } from '../../src/uplink/mqtt-uplink.js';
import { startMosquitto } from '../helpers/brokers.js';
import { makeTempDir, removeTempDirs } from '../store/helpers.js';

const PREFIX = 'passerelle';
const SITE = `refused-${process.pid}`;
const GATEWAY = 'gw-1';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  removeTempDirs();
});

async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a summary the broker refuses for good', () => {
  it('is set aside, counted and kept, and no longer blocks the messages behind it', async () => {
    // Summaries and the state may be written; the health topic may not (PUBACK 0x87).
    const broker = await startMosquitto({
      acl: [`pattern readwrite ${PREFIX}/+/+/summary`, `pattern readwrite ${PREFIX}/+/+/state`, `pattern read ${PREFIX}/#`].join('\n'),
    });
    cleanups.push(() => broker.close());
    const dir = makeTempDir();
    const store = Store.open({ path: join(dir, 'store.db'), keyFile: join(dir, 'store.key') });
    cleanups.push(() => store.close());

    const received: string[] = [];
    const sub = connect(broker.url, { clientId: `sub-${SITE}` });
    cleanups.push(() => sub.endAsync());
    sub.on('message', (topic) => received.push(topic));
    await sub.subscribeAsync(`${PREFIX}/${SITE}/#`, { qos: 1 });

    const t0 = 1_700_000_000_000;
    const refusedTopic = healthTopic(PREFIX, SITE, GATEWAY);
    const allowedTopic = summaryTopic(PREFIX, SITE, GATEWAY);
    // The refused one is first in line: before the fix every message behind it waited 30 s, for ever.
    store.enqueue({ id: 'h-0', topic: refusedTopic, payload: Buffer.from('[]'), createdAt: t0 });
    for (let k = 1; k <= 5; k++) store.enqueue({ id: `s-${k}`, topic: allowedTopic, payload: Buffer.from(`[${k}]`), createdAt: t0 + k });

    const refusals: number[] = [];
    const uplink = new MqttUplink({
      url: broker.url, site: SITE, gateway: GATEWAY, topicPrefix: PREFIX, outbox: store, logger: silentLogger(),
      clientId: `uplink-${SITE}`, refusedRetryMs: 60_000, onRefused: (_m, code) => refusals.push(code),
    });
    cleanups.push(() => uplink.stop());
    await uplink.start();

    await until('the five allowed summaries received', () => received.filter((t) => t === allowedTopic).length === 5);
    await until('outbox drained', () => store.count() === 0);
    expect(refusals).toEqual([0x87]);
    expect(uplink.stats()).toMatchObject({ published: 5, refused: 1 });
    expect(store.refusedCount()).toBe(1);
    expect(received).not.toContain(refusedTopic);
    // The audit trail keeps it, marked refused with the broker's reason; it is never offered again.
    const entry = store.outboxEntries(10).find((e) => e.id === 'h-0');
    expect(entry).toMatchObject({ topic: refusedTopic, refused: { reasonCode: 0x87 } });
    expect(entry?.deliveredAt).toBeUndefined();
    expect(store.peek(10)).toEqual([]);
  });
});
