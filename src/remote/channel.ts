/**
 * The MQTT 5 side of remote config: subscribes to the gateway's retained `desired` (bundle), `head` and
 * `trust` topics and to `req` (the fleet asks for the running config, answered on `running`), publishes
 * the retained `status` (QoS 1, resolved on PUBACK) with an `offline` Will.
 *
 * The client announces a Maximum Packet Size (MQTT 5.0 §3.1.2.11.4) so a conforming broker never
 * delivers a larger bundle; a larger one that arrives anyway is refused on its length alone, before any
 * parsing. mqtt.js reconnects by itself here, with a per-gateway jittered period so a fleet does not
 * come back in lockstep.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { offlineStatus, type RemoteStatus } from './status.js';
import type { RunningReport } from './running.js';
import { cfgTopic } from './topics.js';

export interface ChannelConnection {
  url: string;
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ChannelHandlers {
  bundle(bytes: Buffer): void;
  head(bytes: Buffer): void;
  trust(bytes: Buffer): void;
  /** A request for the running config (fleet sign): answered with publishRunning. */
  request?(bytes: Buffer): void;
  /** A publish larger than the cap (the broker should never send one). */
  tooLarge(bytes: number): void;
}

export interface ChannelOptions {
  gateway: string;
  topicPrefix: string;
  maxBundleBytes: number;
  logger: Logger;
  handlers: ChannelHandlers;
  connectTimeoutMs?: number;
}

/** Room for the fixed header, topic and properties around the largest accepted payload. */
const PACKET_OVERHEAD = 1024;

export class ConfigChannel {
  private client?: MqttClient;

  constructor(private readonly opts: ChannelOptions) {}

  /** Connects (or reconnects with new settings) in the background; mqtt.js keeps retrying. */
  async start(conn: ChannelConnection): Promise<void> {
    await this.stop();
    const { gateway, topicPrefix, maxBundleBytes, logger } = this.opts;
    const client = connect(conn.url, this.clientOptions(conn));
    this.client = client;
    const topics = {
      desired: cfgTopic(topicPrefix, gateway, 'desired'),
      head: cfgTopic(topicPrefix, gateway, 'head'),
      trust: cfgTopic(topicPrefix, gateway, 'trust'),
      req: cfgTopic(topicPrefix, gateway, 'req'),
    };
    client.on('message', (topic, payload) => {
      if (payload.length > maxBundleBytes) return this.opts.handlers.tooLarge(payload.length);
      if (topic === topics.desired) this.opts.handlers.bundle(payload);
      else if (topic === topics.head) this.opts.handlers.head(payload);
      else if (topic === topics.trust) this.opts.handlers.trust(payload);
      else if (topic === topics.req) this.opts.handlers.request?.(payload);
    });
    client.on('connect', () => {
      // Trust first: a bundle signed by rotated keys must meet the new trust file.
      const wanted = [topics.trust, topics.head, topics.desired, ...(this.opts.handlers.request ? [topics.req] : [])];
      client.subscribe(wanted, { qos: 1 }, (err) => {
        if (err) logger.warn({ err: errorMessage(err) }, 'config topics: subscribe failed');
      });
    });
    client.on('error', (err) => logger.debug({ err: errorMessage(err) }, 'config channel error'));
  }

  /** Retained status, QoS 1: resolves on PUBACK (the trial's broker round trip); waits a bounded time for a connection. */
  async publishStatus(status: RemoteStatus, waitMs = 10_000): Promise<void> {
    const client = this.client;
    if (!client) throw new Error('config channel stopped');
    if (!client.connected)
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('config channel not connected')), waitMs);
        client.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    await client.publishAsync(cfgTopic(this.opts.topicPrefix, this.opts.gateway, 'status'), JSON.stringify(status), { qos: 1, retain: true });
  }

  /** The running config, on request (QoS 1, not retained: it answers one request, it is not a state). */
  async publishRunning(report: RunningReport): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('config channel not connected');
    await client.publishAsync(cfgTopic(this.opts.topicPrefix, this.opts.gateway, 'running'), JSON.stringify(report), { qos: 1 });
  }

  /** Says `offline` (retained) on a clean stop too: the Will covers only a vanished gateway. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      const topic = cfgTopic(this.opts.topicPrefix, this.opts.gateway, 'status');
      await Promise.race([client.publishAsync(topic, offlineStatus(this.opts.gateway), { qos: 1, retain: true }).catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
    }
    await client.endAsync().catch(() => client.end(true));
  }

  private clientOptions(conn: ChannelConnection): IClientOptions {
    const { gateway, topicPrefix, maxBundleBytes } = this.opts;
    return {
      protocolVersion: 5,
      clean: true,
      clientId: `passerelle-cfg-${gateway}`,
      ...credentialOptions(conn),
      reconnectPeriod: 2000 + Math.floor(Math.random() * 8000),
      connectTimeout: this.opts.connectTimeoutMs ?? 10_000,
      keepalive: 60,
      properties: { maximumPacketSize: maxBundleBytes + PACKET_OVERHEAD },
      will: { topic: cfgTopic(topicPrefix, gateway, 'status'), payload: Buffer.from(offlineStatus(gateway)), qos: 1, retain: true },
    };
  }
}

/** Connects once with these settings and leaves: the pre-flight of a new broker. */
export async function tryConnect(conn: ChannelConnection, clientId: string, timeoutMs = 10_000): Promise<void> {
  const client = connect(conn.url, {
    protocolVersion: 5,
    clientId,
    ...credentialOptions(conn),
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      client.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
  } finally {
    client.end(true);
  }
}

/** Credentials and TLS material of a connection, verification always on: the channel and the pre-flight alike. */
function credentialOptions(conn: ChannelConnection) {
  return {
    ...(conn.username !== undefined && { username: conn.username }),
    ...(conn.password !== undefined && { password: conn.password }),
    ...(conn.ca && { ca: conn.ca }),
    ...(conn.cert && { cert: conn.cert }),
    ...(conn.key && { key: conn.key }),
    rejectUnauthorized: true,
  };
}
