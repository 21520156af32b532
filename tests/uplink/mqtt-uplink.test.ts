import { connect, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/config/schema.js';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import type { OutboxMessage } from '../../src/core/outbox.js';
import type { WindowSummary } from '../../src/core/types.js';
import { buildOutboxMessages, MqttUplink, stateTopic, summaryTopic } from '../../src/uplink/mqtt-uplink.js';
import { decodeSenml, resolveSenml, type SenmlFormat } from '../../src/uplink/senml.js';
import { brokers, freePort, startMosquitto, type TestBroker } from '../helpers/brokers.js';
import { MemoryOutbox } from '../helpers/memory-outbox.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const PREFIX = 'passerelle';
const POLICY = policySchema.parse({ allow: [{ match: '*', statistics: ['mean', 'last'] }], minCount: {} });

let seq = 0;
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Every test gets its own site id, so retained states of other tests never interfere. */
function newSite(): { site: string; gateway: string } {
  seq += 1;
  return { site: `site-${process.pid}-${seq}`, gateway: 'gw-1' };
}

function windowOf(site: string, gateway: string, k: number): WindowSummary {
  const start = 1_700_000_000_000 + k * 300_000;
  return {
    id: `${site}:${gateway}:${start}`, site, gateway, start, end: start + 300_000,
    points: [
      { device: 'room-1', point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge',
        count: 30, expected: 30, mean: 20 + k / 4, last: 21, bad: {} },
      { device: 'door', point: 'badge', dataClass: 'identifier', measure: 'gauge',
        count: 2, expected: 0, last: 'A1B2C3', bad: {} },
    ],
  };
}

function enqueueWindows(outbox: MemoryOutbox, site: string, gateway: string, ks: number[], format: SenmlFormat = 'senml-json'): OutboxMessage[] {
  const topic = summaryTopic(PREFIX, site, gateway);
  const messages = ks.flatMap((k) => buildOutboxMessages(windowOf(site, gateway, k), POLICY, format, topic));
  for (const m of messages) outbox.enqueue(m);
  return messages;
}

function newUplink(url: string, site: string, gateway: string, outbox: MemoryOutbox, extra: Partial<ConstructorParameters<typeof MqttUplink>[0]> = {}): MqttUplink {
  const uplink = new MqttUplink({
    url, site, gateway, topicPrefix: PREFIX, outbox, logger: process.env.UPLINK_DEBUG ? createLogger('debug') : silentLogger(),
    clientId: `uplink-${site}`, reconnectBaseMs: 100, reconnectCapMs: 400, connectTimeoutMs: 2000, ...extra,
  });
  cleanups.push(() => uplink.stop());
  return uplink;
}

interface Received { topic: string; payload: Buffer; retain: boolean }

/** A plain MQTT 3.1.1 subscriber (both brokers speak it), collecting what it receives. */
async function subscriber(url: string, topic: string): Promise<{ received: Received[]; client: MqttClient }> {
  const client = connect(url, { protocolVersion: 4, reconnectPeriod: 0, clientId: `sub-${process.pid}-${++seq}` });
  cleanups.push(() => client.endAsync(true));
  const received: Received[] = [];
  client.on('message', (t, payload, packet) => received.push({ topic: t, payload, retain: packet.retain }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return { received, client };
}

async function until(what: string, done: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy(port);
  cleanups.push(() => proxy.close());
  return proxy;
}

describe.each(brokers)('MqttUplink with %s', (_name, startBroker) => {
  async function broker(port?: number): Promise<TestBroker> {
    const b = await startBroker(port === undefined ? {} : { port });
    cleanups.push(() => b.close());
    return b;
  }

  it.each(['senml-json', 'senml-cbor'] as const)('publishes the outbox in order as %s SenML a subscriber can read', async (format) => {
    const b = await broker();
    const { site, gateway } = newSite();
    const sub = await subscriber(b.url, summaryTopic(PREFIX, site, gateway));
    const outbox = new MemoryOutbox();
    const sent = enqueueWindows(outbox, site, gateway, [2, 0, 1], format);
    const seen: string[] = [];
    const uplink = newUplink(b.url, site, gateway, outbox, { onPublished: (m) => seen.push(m.id) });

    await uplink.start();
    await until('three summaries received', () => sub.received.length === 3);

    const reads = sub.received.map((r) => resolveSenml(decodeSenml(r.payload, format)));
    const base = `urn:dev:passerelle:${site}:${gateway}:`;
    expect(reads.map((records) => records.find((r) => r.n === `${base}msg-id`)?.vs)).toEqual([0, 1, 2].map((k) => windowOf(site, gateway, k).id));
    reads.forEach((records, k) => {
      expect(records.find((r) => r.n === `${base}room-1/temperature/mean`)).toMatchObject({ v: 20 + k / 4, u: 'Cel', t: windowOf(site, gateway, k).end / 1000 });
      expect(records.some((r) => r.n.includes('door/badge'))).toBe(false);
    });
    await until('outbox emptied', () => outbox.count() === 0);
    expect(seen).toEqual([0, 1, 2].map((k) => windowOf(site, gateway, k).id));
    expect(uplink.stats()).toEqual({ published: 3, bytes: sent.reduce((n, m) => n + m.payload.length, 0), connected: true, connections: 1, refused: 0 });
  });

  it('deletes a message from the outbox only after the PUBACK', async () => {
    const b = await broker();
    const proxy = await proxyTo(b.port);
    const { site, gateway } = newSite();
    const sub = await subscriber(b.url, summaryTopic(PREFIX, site, gateway));
    const outbox = new MemoryOutbox();
    const uplink = newUplink(proxy.url, site, gateway, outbox);
    await uplink.start();
    await until('connected', () => uplink.stats().connected);

    proxy.hold(); // the broker receives the publish, but its PUBACK stays on the wire
    enqueueWindows(outbox, site, gateway, [0]);
    uplink.kick();
    await until('broker routed the summary', () => sub.received.length === 1);
    await sleep(200);
    expect(outbox.count()).toBe(1);
    expect(uplink.stats().published).toBe(0);

    proxy.release();
    await until('outbox emptied after PUBACK', () => outbox.count() === 0);
    expect(outbox.acked).toEqual([windowOf(site, gateway, 0).id]);
    expect(sub.received).toHaveLength(1);
  });

  it('keeps at most maxInFlight publishes awaiting PUBACK', async () => {
    const b = await broker();
    const proxy = await proxyTo(b.port);
    const { site, gateway } = newSite();
    const sub = await subscriber(b.url, summaryTopic(PREFIX, site, gateway));
    const outbox = new MemoryOutbox();
    const uplink = newUplink(proxy.url, site, gateway, outbox, { maxInFlight: 2 });
    await uplink.start();
    await until('connected', () => uplink.stats().connected);

    proxy.hold();
    enqueueWindows(outbox, site, gateway, [0, 1, 2, 3, 4]);
    uplink.kick();
    uplink.kick();
    await until('two summaries routed', () => sub.received.length === 2);
    await sleep(300);
    expect(sub.received).toHaveLength(2);

    proxy.release();
    await until('all five delivered', () => sub.received.length === 5 && outbox.count() === 0);
  });

  it('leaves retained online on start and offline on stop', async () => {
    const b = await broker();
    const { site, gateway } = newSite();
    const topic = stateTopic(PREFIX, site, gateway);
    const uplink = newUplink(b.url, site, gateway, new MemoryOutbox());
    await uplink.start();
    await sleep(100);

    const late = await subscriber(b.url, topic);
    await until('retained online', () => late.received.length === 1);
    expect(late.received[0]).toMatchObject({ payload: Buffer.from('online'), retain: true });

    await uplink.stop();
    const later = await subscriber(b.url, topic);
    await until('retained offline', () => later.received.length === 1);
    expect(later.received[0]).toMatchObject({ payload: Buffer.from('offline'), retain: true });
    expect(uplink.stats().connected).toBe(false);
  });

  it('lets the broker announce offline (last will) when the connection dies, then comes back online', async () => {
    const b = await broker();
    const proxy = await proxyTo(b.port);
    const { site, gateway } = newSite();
    const watcher = await subscriber(b.url, stateTopic(PREFIX, site, gateway));
    const uplink = newUplink(proxy.url, site, gateway, new MemoryOutbox());
    await uplink.start();
    await until('online', () => watcher.received.some((r) => r.payload.toString() === 'online'));

    proxy.cut();
    await until('last will offline', () => watcher.received.some((r) => r.payload.toString() === 'offline'));
    await until('online again after reconnect', () => watcher.received.map((r) => r.payload.toString()).join() === 'online,offline,online');
  });

  it('reconnects when the jittered backoff draws a zero delay (a lost connection is never final)', async () => {
    const b = await broker();
    const proxy = await proxyTo(b.port);
    const { site, gateway } = newSite();
    const watcher = await subscriber(b.url, stateTopic(PREFIX, site, gateway));
    // Full jitter draws from [0, ceiling): 0 ms is a legitimate draw; it happened 1 time in 100 in CI.
    const uplink = newUplink(proxy.url, site, gateway, new MemoryOutbox(), { random: () => 0 });
    await uplink.start();
    await until('online', () => watcher.received.some((r) => r.payload.toString() === 'online'));
    proxy.cut();
    await until('connected again', () => uplink.stats().connections === 2 && uplink.stats().connected);
    await until('online again', () => watcher.received.map((r) => r.payload.toString()).join() === 'online,offline,online');
  });

  it('keeps messages while the broker is down at start and delivers them when it comes up on the same port', async () => {
    const port = await freePort();
    const proxy = await proxyTo(port);
    const { site, gateway } = newSite();
    const outbox = new MemoryOutbox();
    const uplink = newUplink(proxy.url, site, gateway, outbox);
    await uplink.start(); // resolves after the failed first attempt
    enqueueWindows(outbox, site, gateway, [0, 1]);
    uplink.kick();
    await sleep(400);
    expect(outbox.count()).toBe(2);
    expect(uplink.stats()).toMatchObject({ connected: false, published: 0 });

    proxy.block(); // hold the uplink back until the subscriber listens, or it could publish to nobody
    const b = await broker(port);
    const sub = await subscriber(b.url, summaryTopic(PREFIX, site, gateway));
    proxy.unblock();
    await until('both summaries received', () => sub.received.length === 2);
    await until('outbox emptied', () => outbox.count() === 0);
  });

  it('stops draining when the broker goes away and resumes when it is back', async () => {
    const first = await broker();
    const port = first.port;
    const proxy = await proxyTo(port);
    const { site, gateway } = newSite();
    const outbox = new MemoryOutbox();
    const uplink = newUplink(proxy.url, site, gateway, outbox);
    await uplink.start();
    enqueueWindows(outbox, site, gateway, [0]);
    uplink.kick();
    await until('first summary sent', () => outbox.count() === 0);

    await ('kill' in first && typeof first.kill === 'function' ? first.kill() : first.close());
    await until('disconnected', () => !uplink.stats().connected);
    enqueueWindows(outbox, site, gateway, [1]);
    uplink.kick();
    await sleep(300);
    expect(outbox.count()).toBe(1);

    proxy.block();
    const again = await broker(port);
    const sub = await subscriber(again.url, summaryTopic(PREFIX, site, gateway));
    proxy.unblock();
    await until('second summary received', () => sub.received.length === 1);
    await until('outbox emptied', () => outbox.count() === 0);
    expect(uplink.stats().published).toBe(2);
  });
});

describe('MqttUplink with a broker that refuses a publish', () => {
  it('keeps a refused message and delivers it on a later retry once the broker allows it', async () => {
    const b = await startMosquitto({ acl: `pattern read ${PREFIX}/#` });
    cleanups.push(() => b.close());
    const { site, gateway } = newSite();
    const outbox = new MemoryOutbox();
    const sub = await subscriber(b.url, summaryTopic(PREFIX, site, gateway));
    const uplink = newUplink(b.url, site, gateway, outbox, { refusedRetryMs: 300 });
    enqueueWindows(outbox, site, gateway, [0]);
    await uplink.start();
    await until('connected', () => uplink.stats().connected);
    await sleep(200);
    expect(outbox.count()).toBe(1); // PUBACK 0x87 (not authorised) is not an acknowledgement
    expect(uplink.stats()).toMatchObject({ published: 0, connected: true });

    expect(sub.received).toHaveLength(0);

    await b.setAcl(`pattern readwrite ${PREFIX}/#`);
    await until('delivered after the retry pause', () => outbox.count() === 0 && sub.received.length === 1);
  });
});
