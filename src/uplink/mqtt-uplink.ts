/**
 * Publishes the outbox over MQTT. The outbox (on disk) is the only queue: a message is published only
 * while connected, at most `maxInFlight` at a time and at most `maxMessagesPerSecond`, and acknowledged
 * in the outbox only in the QoS 1 publish callback, i.e. after the broker's PUBACK. Nothing is buffered
 * in memory while offline.
 *
 * Reconnection is ours, not mqtt.js's (its fixed period would make a fleet reconnect in lockstep): every
 * attempt is a fresh client after a jittered exponential delay (backoff.ts). When a connection dies, the
 * publishes awaiting PUBACK on it fail and stay in the outbox; the next connection sends them again
 * under the same id (a duplicate the receiver drops by msg-id, never a loss).
 */
import type { IClientOptions, IConnackPacket, MqttClient } from 'mqtt';
import { redactBrokerUrl } from '../core/broker-url.js';
import { PasserelleError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Outbox, OutboxMessage } from '../core/outbox.js';
import { JitteredBackoff } from './backoff.js';
import { mqttClient } from './mqtt-connect.js';
import { brokerHint } from './broker-hints.js';
import { MAX_INCOMING_PACKET_BYTES, packetSizeGuard } from './packet-guard.js';
import { TokenBucket } from './token-bucket.js';
import { stateTopic } from './topics.js';

export { summaryTopic, stateTopic, healthTopic } from './topics.js';
export { buildOutboxMessages, buildWindowMessages } from './outbox-messages.js';
export { buildHealthMessages } from './health.js';

export interface MqttUplinkOptions {
  url: string;
  site: string;
  gateway: string;
  topicPrefix: string;
  outbox: Outbox;
  logger: Logger;
  clientId?: string;
  username?: string;
  password?: string;
  /** CA bundle the broker's certificate must chain to (mqtts://); the system CAs when absent. */
  ca?: Buffer;
  /** Client certificate and key (mutual TLS). */
  cert?: Buffer;
  key?: Buffer;
  onPublished?: (m: OutboxMessage, bytes: number) => void;
  /** 5 by default; when a broker refuses v5, the uplink falls back to 3.1.1 (once, before any success). */
  protocolVersion?: 4 | 5;
  /** Publishes awaiting PUBACK, 1..16 (default 4; lowered to the broker's Receive Maximum). At the bound, draining waits. */
  maxInFlight?: number;
  /** Drain rate bound (token bucket, default 300/s: a week of 5-minute windows, 2016 messages, in about 7 s). */
  maxMessagesPerSecond?: number;
  /** Reconnect delay: full jitter over base * 2^attempt, capped (defaults 1 s and 5 min). */
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** Injected by tests to check the jitter; Math.random otherwise. */
  random?: () => number;
  connectTimeoutMs?: number;
  /** How long stop() waits for in-flight publishes and the `offline` state (default 5 s). */
  stopTimeoutMs?: number;
  /**
   * Pause before trying again after a refusal that may pass (quota exceeded), or any refusal when the
   * outbox cannot set messages aside (default 30 s).
   */
  refusedRetryMs?: number;
  /** Told when the broker refuses a message for good and it is set aside. */
  onRefused?: (m: OutboxMessage, reasonCode: number) => void;
}

export interface UplinkStats {
  published: number;
  bytes: number;
  connected: boolean;
  /** Connections established since start (1 after the first). */
  connections: number;
  /** Messages the broker refused for good (PUBACK reason >= 0x80), set aside since start. */
  refused: number;
}

const MAX_IN_FLIGHT_LIMIT = 16;
export const DEFAULT_MAX_MESSAGES_PER_SECOND = 300;
/** CONNACK codes for "protocol version not supported" in MQTT 3.1.1 and 5. */
const UNSUPPORTED_PROTOCOL = new Set([1, 132]);
/** PUBACK reasons that may pass by themselves (0x97 quota exceeded): pause and retry, never set aside. */
const REFUSED_FOR_NOW = new Set([0x97]);

export class MqttUplink {
  private client: MqttClient | undefined;
  private connected = false;
  private readonly inFlight = new Set<string>();
  private readonly maxInFlight: number;
  /** maxInFlight, or less when the broker's CONNACK announces a smaller Receive Maximum. */
  private inFlightBound: number;
  private readonly bucket: TokenBucket;
  private readonly backoff: JitteredBackoff;
  private readonly state: string;
  private protocolVersion: 4 | 5;
  private published = 0;
  private bytes = 0;
  private connections = 0;
  private refused = 0;
  private started = false;
  private stopping = false;
  /** Set after the broker refuses a publish; lifted by resumeTimer. */
  private paused = false;
  private resumeTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private rateTimer: NodeJS.Timeout | undefined;
  private lastError = '';
  /** The broker URL as logs may show it: credentials in a URL never reach a log line. */
  private readonly logUrl: string;

  constructor(private readonly opts: MqttUplinkOptions) {
    this.maxInFlight = opts.maxInFlight ?? 4;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1 || this.maxInFlight > MAX_IN_FLIGHT_LIMIT) {
      throw new PasserelleError('E_UPLINK_CONFIG', `maxInFlight must be an integer from 1 to ${MAX_IN_FLIGHT_LIMIT}`);
    }
    this.inFlightBound = this.maxInFlight;
    this.bucket = new TokenBucket(opts.maxMessagesPerSecond ?? DEFAULT_MAX_MESSAGES_PER_SECOND, this.maxInFlight);
    this.backoff = new JitteredBackoff({ baseMs: opts.reconnectBaseMs, capMs: opts.reconnectCapMs, random: opts.random });
    this.protocolVersion = opts.protocolVersion ?? 5;
    this.state = stateTopic(opts.topicPrefix, opts.site, opts.gateway);
    this.logUrl = redactBrokerUrl(opts.url);
  }

  /**
   * Connects and resolves after the first attempt, whether it succeeded or not: with the broker down,
   * the gateway keeps running, messages wait in the outbox and the uplink retries in the background.
   */
  start(): Promise<void> {
    if (this.started) return Promise.reject(new PasserelleError('E_UPLINK_STATE', 'The uplink is already started'));
    this.started = true;
    this.stopping = false;
    this.paused = false;
    return new Promise((resolve) => this.connectOnce(resolve));
  }

  /** Drains the outbox now (call after enqueueing). A no-op while disconnected, at the in-flight bound or the rate bound. */
  kick(): void {
    const client = this.client;
    if (!client || !this.connected || this.stopping || this.paused) return;
    // In-flight messages are the oldest pending ones: peek past them to find the next to send.
    const pending = this.outboxCall(() => this.opts.outbox.peek(this.inFlight.size + this.inFlightBound)) ?? [];
    for (const message of pending) {
      if (this.inFlight.size >= this.inFlightBound) return;
      if (this.inFlight.has(message.id)) continue;
      if (!this.bucket.take()) return this.kickWhenTokenArrives();
      this.publish(client, message);
    }
  }

  /** Waits (bounded) for in-flight publishes, publishes retained `offline`, then disconnects cleanly. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    clearTimeout(this.resumeTimer);
    clearTimeout(this.reconnectTimer);
    this.cancelRateTimer();
    const client = this.client;
    this.started = false;
    if (!client) return;
    const timeoutMs = this.opts.stopTimeoutMs ?? 5000;
    await waitUntil(() => this.inFlight.size === 0 || !this.connected, timeoutMs);
    if (this.connected) {
      // If the connection dies meanwhile, the broker publishes the last will (offline): stop waiting then.
      const connectionLost = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const offline = client.publishAsync(this.state, 'offline', { qos: 1, retain: true });
      await withTimeout(Promise.race([offline, connectionLost]), timeoutMs).catch((e) =>
        this.opts.logger.warn({ err: errorMessage(e) }, 'could not publish the offline state'),
      );
    }
    // A clean DISCONNECT makes the broker discard the last will; force when there is no connection to close.
    await withTimeout(client.endAsync(!this.connected), timeoutMs).catch(() => client.end(true));
    this.client = undefined;
    this.connected = false;
    this.inFlight.clear();
  }

  stats(): UplinkStats {
    return { published: this.published, bytes: this.bytes, connected: this.connected, connections: this.connections, refused: this.refused };
  }

  /** One connection attempt with a fresh client; `firstAttempt` resolves start() once it is decided. */
  private connectOnce(firstAttempt?: () => void): void {
    const client = mqttClient(this.opts.url, this.clientOptions(this.protocolVersion));
    this.client = client;
    this.guardPacketSize(client);
    let fallBack = false;
    client.on('connect', (connack: IConnackPacket) => {
      this.onConnect(client, connack);
      firstAttempt?.();
    });
    client.on('error', (err: Error & { code?: unknown }) => {
      if (this.protocolVersion === 5 && this.connections === 0 && UNSUPPORTED_PROTOCOL.has(Number(err.code))) {
        this.opts.logger.warn({ url: this.logUrl }, 'broker refuses MQTT 5; falling back to MQTT 3.1.1');
        this.protocolVersion = 4;
        fallBack = true;
        return;
      }
      this.logConnectionError(err);
    });
    client.on('close', () => {
      if (client !== this.client || this.stopping) return;
      this.onClose(client);
      if (fallBack) {
        this.reconnectTimer = setTimeout(() => this.connectOnce(firstAttempt), 0);
        return;
      }
      this.scheduleReconnect(this.backoff.next());
      firstAttempt?.();
    });
  }

  /** Closes the connection as soon as the broker declares a packet over the bound (packet-guard.ts). */
  private guardPacketSize(client: MqttClient): void {
    const tooLarge = packetSizeGuard(MAX_INCOMING_PACKET_BYTES);
    const stream = client.stream;
    stream.on('data', (chunk: Buffer) => {
      const size = tooLarge(chunk);
      if (size === undefined) return;
      this.opts.logger.error({ url: this.opts.url, bytes: size, max: MAX_INCOMING_PACKET_BYTES }, 'broker sent a packet over the size bound; connection closed');
      stream.destroy();
    });
  }

  private onClose(client: MqttClient): void {
    if (this.connected) this.opts.logger.warn({ url: this.logUrl }, 'broker connection lost; messages wait in the outbox');
    this.connected = false;
    this.cancelRateTimer();
    // Forced end of a client that never reconnects by itself: mqtt.js fails the publishes still awaiting
    // their PUBACK ("Connection closed"); they stay in the outbox for the next connection.
    client.end(true);
    this.inFlight.clear();
  }

  /** Full jitter may draw 0 ms: that is a valid delay (reconnect at once), never a reason not to reconnect. */
  private scheduleReconnect(delayMs: number): void {
    this.opts.logger.debug({ delayMs }, 'next broker connection attempt');
    this.reconnectTimer = setTimeout(() => this.connectOnce(), delayMs);
  }

  private clientOptions(protocolVersion: 4 | 5): IClientOptions {
    const { opts } = this;
    return {
      protocolVersion,
      clean: true,
      clientId: opts.clientId ?? `passerelle-${opts.site}-${opts.gateway}`,
      ...(opts.username !== undefined && { username: opts.username }),
      ...(opts.password !== undefined && { password: opts.password }),
      ...(opts.ca && { ca: opts.ca }),
      ...(opts.cert && { cert: opts.cert }),
      ...(opts.key && { key: opts.key }),
      // Never turned off: a gateway that accepts any certificate hands its data to whoever answers.
      rejectUnauthorized: true,
      reconnectPeriod: 0,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      keepalive: 30,
      resubscribe: false,
      queueQoSZero: false,
      // mqtt-packet's default pre-builds 65 536 two-byte buffers (about 8 MB of heap) to write packet ids
      // and lengths; a gateway writes a few packets a minute and builds those two bytes when it does.
      writeCache: false,
      will: { topic: this.state, payload: Buffer.from('offline'), qos: 1, retain: true },
      // MQTT 5: the broker must not send larger packets; a 3.1.1 broker is held to it by guardPacketSize.
      ...(protocolVersion === 5 && { properties: { maximumPacketSize: MAX_INCOMING_PACKET_BYTES } }),
    };
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    this.connected = true;
    this.connections += 1;
    this.backoff.reset();
    this.lastError = '';
    const receiveMaximum = connack.properties?.receiveMaximum;
    this.inFlightBound = Math.max(1, Math.min(this.maxInFlight, receiveMaximum ?? this.maxInFlight));
    const pending = this.outboxCall(() => this.opts.outbox.count());
    this.opts.logger.info({ url: this.logUrl, protocolVersion: this.protocolVersion, pending }, 'broker connected');
    client.publish(this.state, 'online', { qos: 1, retain: true }, (err) => {
      if (err && client === this.client) this.opts.logger.warn({ err: errorMessage(err) }, 'could not publish the online state');
    });
    this.kick();
  }

  private publish(client: MqttClient, message: OutboxMessage): void {
    this.inFlight.add(message.id);
    client.publish(message.topic, message.payload, { qos: 1 }, (err) => {
      if (client !== this.client) return; // an old connection's failure: its ids were released on close
      this.inFlight.delete(message.id);
      if (err) return this.onPublishFailed(message, err);
      // If the ack cannot be stored, the message is sent again later: a duplicate the receiver drops by msg-id.
      this.outboxCall(() => this.opts.outbox.ack(message.id));
      this.published += 1;
      this.bytes += message.payload.length;
      this.opts.onPublished?.(message, message.payload.length);
      this.kick();
    });
  }

  private cancelRateTimer(): void {
    clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
  }

  private kickWhenTokenArrives(): void {
    if (this.rateTimer) return;
    this.rateTimer = setTimeout(() => {
      this.rateTimer = undefined;
      this.kick();
    }, Math.max(1, this.bucket.msUntilToken()));
  }

  private onPublishFailed(message: OutboxMessage, err: Error & { code?: unknown }): void {
    if (this.stopping || typeof err.code !== 'number') return; // connection gone: the message stays for the next connect
    const { outbox } = this.opts;
    if (!REFUSED_FOR_NOW.has(err.code) && outbox.refuse) {
      // Refused for good (not authorised, topic invalid, too large): resending cannot help, and keeping
      // it first in line would hold back every message behind it. Set aside, counted, kept for the audit.
      this.outboxCall(() => outbox.refuse!(message.id, err.code as number));
      this.refused += 1;
      this.opts.logger.error(
        { id: message.id, topic: message.topic, reasonCode: err.code, reason: err.message },
        'broker refused a message for good; set aside (kept for the audit trail), the next ones go on',
      );
      this.opts.onRefused?.(message, err.code);
      return this.kick();
    }
    // Refused for now (quota), or the outbox cannot set it aside: keep it and retry later rather than spin.
    const retryMs = this.opts.refusedRetryMs ?? 30_000;
    this.opts.logger.error({ id: message.id, topic: message.topic, reason: err.message, retryMs }, 'broker refused a message; it stays in the outbox');
    this.paused = true;
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.paused = false;
      this.kick();
    }, retryMs);
    this.resumeTimer.unref();
  }

  /** The outbox lives on disk and may fail (disk full, file closed); never let that escape into mqtt.js callbacks. */
  private outboxCall<T>(operation: () => T): T | undefined {
    try {
      return operation();
    } catch (e) {
      this.opts.logger.error({ err: errorMessage(e) }, 'outbox operation failed; draining resumes on the next kick');
      return undefined;
    }
  }

  private logConnectionError(err: Error): void {
    // The same error repeats on every attempt while the broker is down: log it once.
    if (err.message === this.lastError) return;
    this.lastError = err.message;
    const hint = brokerHint(this.opts.url, err);
    this.opts.logger.warn({ url: this.logUrl, err: err.message, ...(hint ? { hint } : {}) }, `broker connection failed${hint ? ` (${hint})` : ''}; retrying with backoff`);
  }
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PasserelleError('E_UPLINK_TIMEOUT', `no answer from the broker within ${ms} ms`, true)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
