/**
 * Transport security against a real mosquitto: TLS with CA verification, mutual TLS (client
 * certificates), username and password. Certificates are generated for the run (tests/helpers/certs.ts).
 */
import { connect } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { MqttUplink, summaryTopic, type MqttUplinkOptions } from '../../src/uplink/mqtt-uplink.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { MemoryOutbox } from '../helpers/memory-outbox.js';

let pki: TestPki;
const cleanups: (() => Promise<unknown> | void)[] = [];
beforeAll(async () => {
  pki = await createTestPki('gw-tls');
});
afterAll(() => pki.remove());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, done: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

async function broker(opts: Parameters<typeof startMosquitto>[0]): Promise<MosquittoBroker> {
  const b = await startMosquitto(opts);
  cleanups.push(() => b.close());
  return b;
}

const tlsFiles = (requireClientCertificate: boolean) => ({
  caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, requireClientCertificate,
});

function uplinkWithOne(url: string, extra: Partial<MqttUplinkOptions>): { uplink: MqttUplink; outbox: MemoryOutbox } {
  const outbox = new MemoryOutbox();
  outbox.enqueue({ id: 'tls-site:gw:1', topic: summaryTopic('passerelle', 'tls-site', 'gw'), payload: Buffer.from('[]'), createdAt: 1 });
  const uplink = new MqttUplink({
    url, site: 'tls-site', gateway: 'gw', topicPrefix: 'passerelle', outbox, logger: silentLogger(),
    reconnectBaseMs: 100, reconnectCapMs: 300, connectTimeoutMs: 2000, ...extra,
  });
  cleanups.push(() => uplink.stop());
  return { uplink, outbox };
}

describe('MqttUplink over TLS (mosquitto)', () => {
  it('publishes with mutual TLS: CA-verified broker, client certificate as identity', async () => {
    const b = await broker({ tls: tlsFiles(true) });
    expect(b.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:/);
    const [ca, cert, key] = await Promise.all([pki.caFile, pki.clientCertFile, pki.clientKeyFile].map((f) => pki.read(f)));
    const sub = connect(b.url, { ca, cert, key, protocolVersion: 4, reconnectPeriod: 0, clientId: 'tls-sub' });
    cleanups.push(() => sub.endAsync(true));
    const received: string[] = [];
    sub.on('message', (_t, payload) => received.push(payload.toString()));
    await new Promise((resolve, reject) => (sub.once('connect', resolve), sub.once('error', reject)));
    await sub.subscribeAsync('passerelle/tls-site/gw/summary', { qos: 1 });

    const { uplink, outbox } = uplinkWithOne(b.url, { ca, cert, key });
    await uplink.start();
    await until('delivered over TLS', () => outbox.count() === 0 && received.length === 1);
    expect(uplink.stats()).toMatchObject({ connected: true, published: 1 });
  });

  it('refuses a broker whose certificate the configured CA did not sign', async () => {
    const b = await broker({ tls: tlsFiles(false) });
    const { uplink, outbox } = uplinkWithOne(b.url, { ca: await pki.read(pki.otherCaFile) });
    await uplink.start();
    await sleep(600);
    expect(uplink.stats()).toMatchObject({ connected: false, published: 0, connections: 0 });
    expect(outbox.count()).toBe(1);
  });

  it('verifies against the system CAs when none is configured (a private CA is then refused)', async () => {
    const b = await broker({ tls: tlsFiles(false) });
    const { uplink } = uplinkWithOne(b.url, {});
    await uplink.start();
    await sleep(400);
    expect(uplink.stats().connections).toBe(0);
  });

  it('is refused by a broker that requires a client certificate when it has none', async () => {
    const b = await broker({ tls: tlsFiles(true) });
    const { uplink, outbox } = uplinkWithOne(b.url, { ca: await pki.read(pki.caFile) });
    await uplink.start();
    await sleep(600);
    expect(uplink.stats()).toMatchObject({ connected: false, connections: 0 });
    expect(outbox.count()).toBe(1);
  });

  it('authenticates with a username and password, and keeps messages when they are wrong', async () => {
    const b = await broker({ tls: tlsFiles(false), users: { 'gw-1': 's3cret' } });
    const ca = await pki.read(pki.caFile);
    const wrong = uplinkWithOne(b.url, { ca, username: 'gw-1', password: 'nope', clientId: 'wrong' });
    await wrong.uplink.start();
    const right = uplinkWithOne(b.url, { ca, username: 'gw-1', password: 's3cret', clientId: 'right' });
    await right.uplink.start();
    await until('delivered with the right password', () => right.outbox.count() === 0);
    await sleep(300);
    expect(wrong.uplink.stats().connections).toBe(0);
    expect(wrong.outbox.count()).toBe(1);
  });
});
