/**
 * An mqtt.js client for a broker URL. mqtt.js's connect() loads its WebSocket and SOCKS support (ws, socks,
 * ip-address: 1.4 MB of heap, kept for the life of the process) whatever the URL says. For the URLs a
 * gateway uses (mqtt://, mqtts://, tcp://, ssl://, tls://, without credentials or query in the URL and
 * without a SOCKS proxy) the client gets a plain TCP or TLS stream of ours, opened as mqtt.js's own
 * tcp/tls builders open it; any other URL goes through connect() unchanged.
 */
import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { connect, MqttClient, type IClientOptions } from 'mqtt';
import { brokerUrlFacts } from '../core/broker-url.js';

/** Schemes served by a plain TCP or TLS stream (not WebSocket). */
const DIRECT_SCHEMES = new Set(['mqtt', 'tcp', 'mqtts', 'ssl', 'tls']);

export function mqttClient(url: string, options: IClientOptions): MqttClient {
  const target = directTarget(url, options);
  if (!target) return connect(url, options);
  const { host, port, tls } = target;
  const stream = tls ? (client: MqttClient) => tlsStream(client, host, port, options) : () => tcpConnect({ host, port });
  return new MqttClient(stream, { ...options, host, hostname: host, port, protocol: tls ? 'mqtts' : 'mqtt' });
}

/** Host, port and transport when our own stream serves the URL exactly as connect() would; else undefined. */
export function directTarget(url: string, options: IClientOptions): { host: string; port: number; tls: boolean } | undefined {
  const facts = brokerUrlFacts(url);
  if (!facts || !DIRECT_SCHEMES.has(facts.scheme) || facts.credentials || facts.query || process.env.MQTTJS_SOCKS_PROXY) return undefined;
  // With a client certificate and key, mqtt.js turns mqtt:// into mqtts:// and refuses tcp://, ssl://, tls://.
  const clientCert = Boolean(options.cert && options.key);
  if (clientCert && facts.scheme !== 'mqtt' && facts.scheme !== 'mqtts') return undefined;
  const tls = facts.tls || clientCert;
  return { host: facts.host || 'localhost', port: facts.port ?? (tls ? 8883 : 1883), tls };
}

/** As mqtt.js's tls builder: SNI unless the host is an address, certificates checked, TLS errors to the client. */
function tlsStream(client: MqttClient, host: string, port: number, options: IClientOptions): TLSSocket {
  const { ca, cert, key } = options;
  const rejectUnauthorized = options.rejectUnauthorized !== false;
  const connection = tlsConnect({
    host,
    port,
    ...(isIP(host) === 0 && { servername: host }),
    ...(ca !== undefined && { ca }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
    rejectUnauthorized,
  } as ConnectionOptions);
  const onTlsError = (err: Error) => {
    if (rejectUnauthorized) client.emit('error', err);
    connection.end();
  };
  connection.on('secureConnect', () => {
    if (rejectUnauthorized && !connection.authorized) connection.emit('error', new Error('TLS not authorized'));
    else connection.removeListener('error', onTlsError);
  });
  connection.on('error', onTlsError);
  return connection;
}
