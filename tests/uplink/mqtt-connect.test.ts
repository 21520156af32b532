/**
 * Issue 11 item 3: the uplink opens its own TCP or TLS stream for the URLs a gateway uses, so mqtt.js's
 * WebSocket and SOCKS support (1.4 MB of heap) is never loaded; any URL whose meaning would depend on
 * mqtt.js's own parsing goes through mqtt.js's connect() as before. (TLS and plain connections to a real
 * broker through this path: tls.test.ts, mqtt-uplink.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { directTarget } from '../../src/uplink/mqtt-connect.js';

const saved = process.env.MQTTJS_SOCKS_PROXY;
afterEach(() => {
  if (saved === undefined) delete process.env.MQTTJS_SOCKS_PROXY;
  else process.env.MQTTJS_SOCKS_PROXY = saved;
});

describe('the stream for a broker URL', () => {
  it('is ours for mqtt, mqtts, tcp, ssl and tls URLs, with mqtt.js default ports', () => {
    expect(directTarget('mqtt://broker.example', {})).toEqual({ host: 'broker.example', port: 1883, tls: false });
    expect(directTarget('tcp://10.0.0.5:1884', {})).toEqual({ host: '10.0.0.5', port: 1884, tls: false });
    expect(directTarget('mqtts://broker.example', {})).toEqual({ host: 'broker.example', port: 8883, tls: true });
    expect(directTarget('ssl://broker.example:9883', {})).toEqual({ host: 'broker.example', port: 9883, tls: true });
    expect(directTarget('tls://[::1]:8884', {})).toEqual({ host: '::1', port: 8884, tls: true });
  });

  it('is TLS for mqtt:// with a client certificate and key, as mqtt.js decides', () => {
    expect(directTarget('mqtt://broker.example', { cert: 'C', key: 'K' })).toEqual({ host: 'broker.example', port: 8883, tls: true });
    expect(directTarget('mqtt://broker.example', { cert: 'C' })?.tls).toBe(false);
    expect(directTarget('mqtts://broker.example', { cert: 'C', key: 'K' })?.tls).toBe(true);
    // mqtt.js refuses these with a client certificate: its connect() says so, as before.
    for (const url of ['tcp://broker.example', 'ssl://broker.example', 'tls://broker.example']) expect(directTarget(url, { cert: 'C', key: 'K' }), url).toBeUndefined();
  });

  it("is mqtt.js's for WebSockets, credentials or a query in the URL, and a SOCKS proxy", () => {
    for (const url of ['ws://broker.example/mqtt', 'wss://broker.example/mqtt', 'mqtt://user:pw@broker.example', 'mqtt://broker.example?clientId=x', 'not a url']) {
      expect(directTarget(url, {}), url).toBeUndefined();
    }
    process.env.MQTTJS_SOCKS_PROXY = 'socks5://127.0.0.1:1080';
    expect(directTarget('mqtt://broker.example', {})).toBeUndefined();
  });
});
