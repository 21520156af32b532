/**
 * Issue 13 item 9: an mqtt:// / mqtts:// mismatch says so instead of "read ECONNRESET". Real mosquitto
 * listeners, one with TLS and one without; the uplink's own log lines.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MqttUplink } from '../../src/uplink/mqtt-uplink.js';
import { startMosquitto } from '../helpers/brokers.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { MemoryOutbox } from '../helpers/memory-outbox.js';

let pki: TestPki;
const cleanups: (() => Promise<unknown> | void)[] = [];
beforeAll(async () => {
  pki = await createTestPki('gw-hints');
});
afterAll(() => pki.remove());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function warningsConnecting(url: string, ca?: Buffer): Promise<string[]> {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const uplink = new MqttUplink({
    url, site: 's', gateway: 'g', topicPrefix: 'passerelle', outbox: new MemoryOutbox(), logger,
    reconnectBaseMs: 100, reconnectCapMs: 300, connectTimeoutMs: 2000, ...(ca ? { ca } : {}),
  });
  cleanups.push(() => uplink.stop());
  await uplink.start();
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => l.includes('broker connection failed')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
}

describe('broker URL scheme hints', () => {
  it('mqtt:// to a TLS listener says to write mqtts://', async () => {
    const b = await startMosquitto({ tls: { caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile } });
    cleanups.push(() => b.close());
    const messages = await warningsConnecting(b.url.replace('mqtts://', 'mqtt://'));
    expect(messages.find((m) => m.startsWith('broker connection failed'))).toContain('write mqtts://');
  }, 30_000);

  it('mqtts:// to a plain listener says the port does not speak TLS', async () => {
    const b = await startMosquitto();
    cleanups.push(() => b.close());
    const messages = await warningsConnecting(b.url.replace('mqtt://', 'mqtts://'), await pki.read(pki.caFile));
    expect(messages.find((m) => m.startsWith('broker connection failed'))).toContain('does not speak TLS: write mqtt://');
  }, 30_000);
});
