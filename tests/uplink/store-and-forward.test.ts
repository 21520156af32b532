/**
 * Store-and-forward with every part real: the encrypted SQLite Store as the outbox, mosquitto as the
 * broker, a TCP proxy on the uplink's side. A day of summaries is produced while the broker is down
 * (time-accelerated: 288 five-minute windows, stamped over 24 h, generated at once), then delivered
 * across an uplink restart, a broker restart and a broker killed right after a PUBACK.
 * Receiver's rule: duplicates are allowed only under the same msg-id; nothing may be missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import type { OutboxMessage } from '../../src/core/outbox.js';
import type { WindowSummary } from '../../src/core/types.js';
import { Store } from '../../src/store/store.js';
import { buildOutboxMessages, MqttUplink, summaryTopic } from '../../src/uplink/mqtt-uplink.js';
import { decodeSenml } from '../../src/uplink/senml.js';
import { freePort, startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const SITE = 'sf-site';
const GATEWAY = 'gw-1';
const TOPIC = summaryTopic('passerelle', SITE, GATEWAY);
const WINDOW_MS = 300_000;
const DAY_START = Date.UTC(2024, 0, 15);
const POLICY = policySchema.parse({ allow: [{ match: '*', statistics: ['min', 'max', 'mean'] }], minCount: {} });

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Generous bounds: on 2 busy cores a broker restart can take seconds; a hang still fails, naming its step. */
async function until(what: string, done: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

function windowSummary(k: number): WindowSummary {
  const start = DAY_START + k * WINDOW_MS;
  return {
    id: `${SITE}:${GATEWAY}:${start}`, site: SITE, gateway: GATEWAY, start, end: start + WINDOW_MS,
    points: [{ device: 'room', point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge',
      count: 30, expected: 30, min: 19, max: 22, mean: 20 + (k % 10) / 10, bad: {} }],
  };
}

/** A day of windows, as the gateway would have enqueued them while the broker was unreachable. */
function produceDay(store: Store, windows = 288): OutboxMessage[] {
  const messages = Array.from({ length: windows }, (_, k) => buildOutboxMessages(windowSummary(k), POLICY, 'senml-json', TOPIC)).flat();
  for (const m of messages) store.enqueue(m);
  return messages;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'passerelle-sf-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function openStore(dir: string): Store {
  return Store.open({ path: join(dir, 'gw.db'), keyFile: join(dir, 'gw.key') });
}

function newUplink(url: string, outbox: Store, extra: Partial<ConstructorParameters<typeof MqttUplink>[0]> = {}): MqttUplink {
  const uplink = new MqttUplink({
    url, site: SITE, gateway: GATEWAY, topicPrefix: 'passerelle', outbox, logger: silentLogger(), clientId: `sf-${process.pid}`,
    reconnectBaseMs: 100, reconnectCapMs: 400, connectTimeoutMs: 2000, maxMessagesPerSecond: 200, ...extra,
  });
  cleanups.push(() => uplink.stop());
  return uplink;
}

/** The authority's side: a persistent QoS 1 session, so what the broker accepted survives its clean restart. */
async function receiver(url: string, ids: string[] = []): Promise<{ ids: string[]; client: MqttClient }> {
  const client = connect(url, { protocolVersion: 4, clean: false, clientId: `authority-${process.pid}`, reconnectPeriod: 100 });
  cleanups.push(() => client.endAsync(true));
  client.on('message', (_t, payload) => ids.push(decodeSenml(payload, 'senml-json')[0]!.vs!));
  await new Promise((resolve, reject) => (client.once('connect', resolve), client.once('error', reject)));
  await client.subscribeAsync(TOPIC, { qos: 1 });
  return { ids, client };
}

async function proxyTo(port: number): Promise<TcpProxy> {
  const proxy = await startTcpProxy(port);
  cleanups.push(() => proxy.close());
  return proxy;
}

function expectExactlyOnceInOrder(received: string[], sent: OutboxMessage[]): void {
  const firstSeen = [...new Set(received)];
  expect(firstSeen).toEqual(sent.map((m) => m.id)); // every id, oldest first, none foreign
}

describe('store-and-forward through the encrypted store and mosquitto', () => {
  it('delivers a day produced offline, across an uplink restart and a broker restart, losing nothing', async () => {
    const dir = await tempDir();
    const brokerDir = await tempDir();
    const port = await freePort();
    const proxy = await proxyTo(port);
    let store = openStore(dir);
    cleanups.push(() => store.close());
    let uplink = newUplink(proxy.url, store);
    await uplink.start(); // the broker is down: resolves after the failed attempt
    const sent = produceDay(store);
    uplink.kick();
    await sleep(300);
    expect(store.count()).toBe(288);

    proxy.block(); // the uplink comes in only once the authority listens
    let broker: MosquittoBroker = await startMosquitto({ port, persistenceDir: brokerDir });
    cleanups.push(() => broker.close());
    const authority = await receiver(broker.url);
    proxy.unblock();

    await until('a third delivered', () => new Set(authority.ids).size >= 96);
    await uplink.stop(); // gateway restart: the store is closed and reopened from disk
    store.close();
    store = openStore(dir);
    expect(store.count()).toBeGreaterThan(0);
    uplink = newUplink(proxy.url, store);
    await uplink.start();

    await until('two thirds delivered', () => new Set(authority.ids).size >= 192);
    await broker.close(); // clean broker restart, mid-delivery, on the same port and persistence
    proxy.block();
    broker = await startMosquitto({ port, persistenceDir: brokerDir });
    proxy.unblock();

    await until('outbox drained', () => store.count() === 0);
    await until('every window received', () => new Set(authority.ids).size === 288);
    expectExactlyOnceInOrder(authority.ids, sent);
    expect(store.outboxEntries(1000).every((e) => e.deliveredAt !== undefined)).toBe(true);
  }, 60_000);

  it('loses nothing when the broker is killed right after a PUBACK', async () => {
    const dir = await tempDir();
    const port = await freePort();
    let broker: MosquittoBroker = await startMosquitto({ port });
    cleanups.push(() => broker.close());
    const proxy = await proxyTo(port);
    let authority = await receiver(broker.url);
    const store = openStore(dir);
    cleanups.push(() => store.close());
    const sent = produceDay(store, 40);
    let killed: Promise<void> | undefined;
    let ackedBeforeKill = 0;
    // The 10th summary acknowledged: the PUBACK reaches the uplink, then the broker dies at once.
    let pubacks = 0;
    proxy.afterPuback(/\/summary$/, () => {
      if (++pubacks < 10) return false;
      killed = broker.kill();
      ackedBeforeKill = 40 - store.count();
      return true;
    });
    const uplink = newUplink(proxy.url, store, { maxMessagesPerSecond: 20 });
    await uplink.start();
    await until('broker killed', () => killed !== undefined);
    await killed;
    const receivedBeforeKill = new Set(authority.ids);

    proxy.block();
    broker = await startMosquitto({ port });
    // The killed broker kept no session: the authority subscribes again before the uplink comes back.
    await authority.client.endAsync(true);
    authority = await receiver(broker.url, authority.ids);
    proxy.unblock();
    await until('outbox drained', () => store.count() === 0);
    await until('every window received', () => new Set(authority.ids).size === 40);

    // What the broker acknowledged before dying had reached the authority: nothing acked was lost.
    const acked = store.outboxEntries(100).filter((e) => e.deliveredAt !== undefined).map((e) => e.id);
    expect(acked).toHaveLength(40);
    expect(ackedBeforeKill).toBeGreaterThanOrEqual(9);
    // Including the 10th, whose PUBACK was the last thing the broker said.
    for (const m of sent.slice(0, 10)) expect(receivedBeforeKill.has(m.id), m.id).toBe(true);
    expectExactlyOnceInOrder(authority.ids, sent);
  }, 90_000);

  it('sends a message whose PUBACK was lost again under the same id', async () => {
    const dir = await tempDir();
    const broker = await startMosquitto();
    cleanups.push(() => broker.close());
    const proxy = await proxyTo(broker.port);
    const authority = await receiver(broker.url);
    const store = openStore(dir);
    cleanups.push(() => store.close());
    const uplink = newUplink(proxy.url, store);
    await uplink.start();
    await until('connected', () => uplink.stats().connected);

    proxy.hold(); // the broker routes the publish, its PUBACK never reaches the uplink
    const [message] = produceDay(store, 1);
    uplink.kick();
    await until('routed once', () => authority.ids.length === 1);
    proxy.cut();
    proxy.release();
    await until('acknowledged after the resend', () => store.count() === 0);
    await until('received twice', () => authority.ids.length === 2);
    expect(authority.ids).toEqual([message!.id, message!.id]);
  });
});
