/**
 * Publishes the outbox over MQTT. The outbox (on disk) is the only queue: a message is published only
 * while connected, at most `maxInFlight` at a time, and deleted from the outbox only in the QoS 1
 * publish callback, i.e. after the broker's PUBACK. Nothing is buffered in memory while offline.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { PasserelleError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Outbox, OutboxMessage } from '../core/outbox.js';
import { stateTopic } from './topics.js';

export { summaryTopic, stateTopic } from './topics.js';
export { buildOutboxMessages } from './outbox-messages.js';

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
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  onPublished?: (m: OutboxMessage, bytes: number) => void;
  /** 5 by default; when a broker refuses v5 (e.g. aedes), the uplink falls back to 3.1.1 once. */
  protocolVersion?: 4 | 5;
  /** Publishes awaiting PUBACK, 1..16 (default 4). At the bound, draining waits for an acknowledgement. */
  maxInFlight?: number;
  reconnectPeriodMs?: number;
  connectTimeoutMs?: number;
  /** How long stop() waits for in-flight publishes and the `offline` state (default 5 s). */
  stopTimeoutMs?: number;
  /** Pause after the broker refuses a publish (PUBACK reason >= 0x80) before trying again (default 30 s). */
  refusedRetryMs?: number;
}

const MAX_IN_FLIGHT_LIMIT = 16;
/** CONNACK codes for "protocol version not supported" in MQTT 3.1.1 and 5. */
const UNSUPPORTED_PROTOCOL = new Set([1, 132]);

export class MqttUplink {
  private client: MqttClient | undefined;
  private readonly inFlight = new Set<string>();
  private readonly maxInFlight: number;
  private readonly state: string;
  private published = 0;
  private bytes = 0;
  private everConnected = false;
  private stopping = false;
  /** Set after the broker refuses a publish; lifted by resumeTimer. */
  private paused = false;
  private resumeTimer: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(private readonly opts: MqttUplinkOptions) {
    this.maxInFlight = opts.maxInFlight ?? 4;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1 || this.maxInFlight > MAX_IN_FLIGHT_LIMIT) {
      throw new PasserelleError('E_UPLINK_CONFIG', `maxInFlight must be an integer from 1 to ${MAX_IN_FLIGHT_LIMIT}`);
    }
    this.state = stateTopic(opts.topicPrefix, opts.site, opts.gateway);
  }

  /**
   * Connects and resolves after the first attempt, whether it succeeded or not: with the broker down,
   * the gateway keeps running, messages wait in the outbox and mqtt.js reconnects in the background.
   */
  start(): Promise<void> {
    if (this.client) return Promise.reject(new PasserelleError('E_UPLINK_STATE', 'The uplink is already started'));
    this.stopping = false;
    this.paused = false;
    return this.connectWith(this.opts.protocolVersion ?? 5);
  }

  /** Drains the outbox now (call after enqueueing). A no-op while disconnected or at the in-flight bound. */
  kick(): void {
    const client = this.client;
    if (!client?.connected || this.stopping || this.paused) return;
    for (const message of this.outboxCall(() => this.opts.outbox.peek(this.maxInFlight)) ?? []) {
      if (this.inFlight.size >= this.maxInFlight) return;
      if (!this.inFlight.has(message.id)) this.publish(client, message);
    }
  }

  /** Waits (bounded) for in-flight publishes, publishes retained `offline`, then disconnects cleanly. */
  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.stopping = true;
    clearTimeout(this.resumeTimer);
    const timeoutMs = this.opts.stopTimeoutMs ?? 5000;
    await waitUntil(() => this.inFlight.size === 0 || !client.connected, timeoutMs);
    if (client.connected) {
      // If the connection dies meanwhile, the broker publishes the last will (offline): stop waiting then.
      const connectionLost = new Promise<void>((resolve) => client.once('close', () => resolve()));
      const offline = client.publishAsync(this.state, 'offline', { qos: 1, retain: true });
      await withTimeout(Promise.race([offline, connectionLost]), timeoutMs).catch((e) =>
        this.opts.logger.warn({ err: errorMessage(e) }, 'could not publish the offline state'),
      );
    }
    // A clean DISCONNECT makes the broker discard the last will; force when there is no connection to close.
    await withTimeout(client.endAsync(!client.connected), timeoutMs).catch(() => client.end(true));
    this.client = undefined;
    this.inFlight.clear();
  }

  stats(): { published: number; bytes: number; connected: boolean } {
    return { published: this.published, bytes: this.bytes, connected: this.client?.connected ?? false };
  }

  private connectWith(protocolVersion: 4 | 5): Promise<void> {
    return new Promise((resolve) => {
      const client = connect(this.opts.url, this.clientOptions(protocolVersion));
      this.client = client;
      let firstAttemptOver = false;
      let replaced = false; // by the MQTT 3.1.1 client after a v5 refusal
      const settle = (): void => {
        if (firstAttemptOver) return;
        firstAttemptOver = true;
        resolve();
      };
      client.on('connect', () => {
        settle();
        this.onConnect(client);
      });
      client.on('close', () => {
        if (!replaced) settle();
      });
      client.on('offline', () => this.opts.logger.warn({ url: this.opts.url }, 'broker unreachable; messages wait in the outbox'));
      client.on('error', (err: Error & { code?: unknown }) => {
        if (protocolVersion === 5 && !this.everConnected && UNSUPPORTED_PROTOCOL.has(Number(err.code))) {
          this.opts.logger.warn({ url: this.opts.url }, 'broker refuses MQTT 5; falling back to MQTT 3.1.1');
          replaced = true;
          client.end(true);
          this.connectWith(4).then(settle);
          return;
        }
        this.logConnectionError(err);
      });
    });
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
      rejectUnauthorized: true,
      reconnectPeriod: opts.reconnectPeriodMs ?? 5000,
      // Keep retrying after a refused CONNACK (server unavailable, credentials being fixed on the broker).
      reconnectOnConnackError: true,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      keepalive: 30,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: this.state, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
  }

  private onConnect(client: MqttClient): void {
    this.everConnected = true;
    this.lastError = '';
    this.opts.logger.info({ url: this.opts.url, pending: this.outboxCall(() => this.opts.outbox.count()) }, 'broker connected');
    client.publish(this.state, 'online', { qos: 1, retain: true }, (err) => {
      if (err) this.opts.logger.warn({ err: errorMessage(err) }, 'could not publish the online state');
    });
    this.kick();
  }

  private publish(client: MqttClient, message: OutboxMessage): void {
    this.inFlight.add(message.id);
    // mqtt.js keeps an unacknowledged QoS 1 publish across reconnects and resends it itself, so the id
    // stays in flight until this callback runs: the drain never sends it a second time meanwhile.
    client.publish(message.topic, message.payload, { qos: 1 }, (err) => {
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

  private onPublishFailed(message: OutboxMessage, err: Error & { code?: unknown }): void {
    if (this.stopping || typeof err.code !== 'number') return; // connection gone: the message stays for the next connect
    // The broker refused it (not authorised, too large, quota): keep it and retry later rather than spin.
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
    // The same error repeats every reconnect period while the broker is down: log it once.
    if (err.message === this.lastError) return;
    this.lastError = err.message;
    this.opts.logger.warn({ url: this.opts.url, err: err.message }, 'broker connection failed; retrying');
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
