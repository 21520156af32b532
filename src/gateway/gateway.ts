/**
 * The running gateway: drivers -> pipeline -> store -> uplink, wired from one validated config.
 *
 * Raw readings are written in batches (SD cards wear): a batch is committed every store.commitInterval or
 * when it reaches rawBatchLimit() readings. A crash or a power cut loses at most that batch; summaries
 * are written to the outbox (and synced) as soon as their window closes. See docs/store.md.
 *
 * Shutdown order: stop polling, flush the raw batch, close open windows into summaries, deliver what
 * the broker takes within the stop budget, publish `offline`, close buses and the store.
 */
import type { Logger } from '../core/logger.js';
import type { OutboxMessage } from '../core/outbox.js';
import { pointKey, type Reading, type WindowSummary } from '../core/types.js';
import type { Config } from '../config/schema.js';
import type { Profile } from '../profiles/schema.js';
import { Aggregator } from '../pipeline/aggregator.js';
import { ClockGuard, releaseFromPreviousWindow } from '../pipeline/clock.js';
import { defaultClockTrust } from '../pipeline/clock-trust.js';
import { QualityChecker } from '../pipeline/quality.js';
import { Store } from '../store/store.js';
import { WriteBuffer } from '../store/write-buffer.js';
import { MqttUplink, buildOutboxMessages, summaryTopic } from '../uplink/mqtt-uplink.js';
import { HealthReporter } from './health.js';
import { buildDrivers, type BuiltDrivers } from './build-drivers.js';
import { readUplinkSecrets } from './uplink-options.js';

/** Hard bound on the raw readings held in memory between two commits, whatever the site. */
export const RAW_BATCH_MAX = 20_000;
/** Headroom over the readings expected in one commit interval before the batch is committed early. */
const RAW_BATCH_HEADROOM = 1.5;

/**
 * Raw readings held before a commit is forced: 1.5 times what the site's polls produce in one commit
 * interval (so the timer normally commits first), at least 100, at most RAW_BATCH_MAX. This is the
 * bound on what a crash or power cut loses.
 */
export function rawBatchLimit(config: Config, expectedPerWindow: ReadonlyMap<string, number>): number {
  let perWindow = 0;
  for (const n of expectedPerWindow.values()) perWindow += n;
  const perCommit = (perWindow * config.store.commitInterval) / config.aggregation.window;
  return Math.min(RAW_BATCH_MAX, Math.max(100, Math.ceil(perCommit * RAW_BATCH_HEADROOM)));
}
const CLOSE_TICK_MS = 250;

export type GatewayEvent =
  | { type: 'summary'; summary: WindowSummary; messages: readonly OutboxMessage[] }
  | { type: 'published'; message: OutboxMessage; bytes: number };

export interface GatewayOptions {
  readonly config: Config;
  readonly profiles: ReadonlyMap<string, Profile>;
  readonly logger: Logger;
  /** Broker URL when the config has none (the demo's embedded broker). */
  readonly brokerUrl?: string;
  readonly onEvent?: (e: GatewayEvent) => void;
  /** Whether the wall clock is right; default from site.clock (docs/data-quality.md). Tests may inject it. */
  readonly isClockTrusted?: () => boolean;
}

/**
 * How long after its end a window stays open. A reading is stamped when its request is sent and reaches
 * the pipeline when its device's cycle ends, after queueing behind other devices on the line, retries
 * included: twice the slowest request budget, at least 2 s, at most half a window.
 */
export function closeGrace(config: Config): number {
  const busOf = new Map(config.buses.map((b) => [b.id, b]));
  const budgets = config.devices.map((d) => {
    const bus = busOf.get(d.bus);
    return (d.timeout ?? bus?.timeout ?? 1000) * ((d.retries ?? bus?.retries ?? 0) + 1);
  });
  return Math.min(config.aggregation.window / 2, Math.max(2000, 2 * Math.max(0, ...budgets)));
}

export class Gateway {
  private readonly built: BuiltDrivers;
  private readonly aggregator: Aggregator;
  private readonly quality: QualityChecker;
  private readonly clock: ClockGuard;
  private clockReported?: 'waiting' | 'trusted';
  private store?: Store;
  /** Holds writes in memory (bounded) while the disk is full or failing, and retries. */
  private writes?: WriteBuffer;
  private uplink?: MqttUplink;
  private rawBatch: Reading[] = [];
  private flushTimer?: NodeJS.Timeout;
  private closeTimer?: NodeJS.Timeout;
  private running = false;
  private readonly closeGraceMs: number;
  private readonly health: HealthReporter;
  /** Raw readings held before a commit is forced (rawBatchLimit). */
  readonly rawBatchLimit: number;

  constructor(private readonly opts: GatewayOptions) {
    const { config } = opts;
    this.built = buildDrivers(config, opts.profiles, opts.logger);
    this.quality = new QualityChecker(this.built.quality);
    const rollovers = new Map(this.built.quality.map((q) => [pointKey(q.device, q.point), q.rolloverAt]));
    this.closeGraceMs = closeGrace(config);
    this.rawBatchLimit = rawBatchLimit(config, this.built.expectedPerWindow);
    this.health = new HealthReporter(config, opts.logger, () => this.clock.trusted);
    this.aggregator = new Aggregator({
      site: config.site.id,
      gateway: config.gateway.id,
      windowMs: config.aggregation.window,
      timeZone: config.site.timezone,
      points: this.built.points,
      expectedPerWindow: (key) => this.built.expectedPerWindow.get(key) ?? 0,
      rolloverAt: (key) => rollovers.get(key),
    });
    this.clock = new ClockGuard({
      isTrusted: opts.isClockTrusted ?? defaultClockTrust({ mode: config.site.clock.trust }),
      maxHeld: config.site.clock.maxHeld,
      releaseFrom: releaseFromPreviousWindow(config.aggregation.window, config.site.timezone, () => this.aggregator.acceptsFrom()),
    });
  }

  get brokerUrl(): string | undefined {
    return this.opts.config.uplink.broker ?? this.opts.brokerUrl;
  }

  async start(): Promise<void> {
    const { config, logger } = this.opts;
    // Secrets first: a missing certificate or password file stops the start before anything is opened.
    const secrets = this.brokerUrl ? readUplinkSecrets(config.uplink) : {};
    const storeLogger = logger.child({ part: 'store' });
    this.store = Store.open({
      path: config.store.path,
      keyFile: config.store.keyFile,
      cipher: config.store.cipher,
      logger: storeLogger,
      pointClasses: new Map(this.built.points.map((p) => [pointKey(p.device, p.point), p.dataClass])),
      retention: config.store.retention,
      deliveredGraceMs: config.store.deliveredGrace,
      maxBytes: config.store.maxBytes,
      maxOutboxBytes: config.store.maxOutboxBytes,
    });
    this.writes = new WriteBuffer({ target: this.store, logger: storeLogger, onRecovered: () => this.uplink?.kick() });
    const url = this.brokerUrl;
    if (url) {
      this.uplink = new MqttUplink({
        url,
        site: config.site.id,
        gateway: config.gateway.id,
        topicPrefix: config.uplink.topicPrefix,
        outbox: this.store,
        logger: logger.child({ part: 'uplink' }),
        clientId: config.uplink.clientId ?? `passerelle-${config.site.id}-${config.gateway.id}`,
        protocolVersion: config.uplink.protocolVersion,
        maxInFlight: config.uplink.maxInFlight,
        maxMessagesPerSecond: config.uplink.maxMessagesPerSecond,
        ...secrets,
        onPublished: (message, bytes) => this.opts.onEvent?.({ type: 'published', message, bytes }),
      });
      await this.uplink.start();
    } else {
      logger.warn('no broker configured: summaries stay in the outbox');
    }
    this.running = true;
    this.flushTimer = setInterval(() => this.flushRaw(), config.store.commitInterval);
    this.closeTimer = setInterval(() => this.closeWindows(Date.now()), CLOSE_TICK_MS);
    for (const driver of this.built.drivers) await driver.start((readings) => this.ingest(readings));
    logger.info({ devices: this.built.drivers.length, buses: this.built.buses.size, store: config.store.path, broker: url }, 'gateway started');
  }

  /** Pipeline entry: clock guard (readings held until the clock is trusted), then process(). */
  ingest(readings: readonly Reading[]): void {
    if (!this.running) return;
    this.process(this.clock.admit(readings));
  }

  /** Quality checks, then aggregation and the raw batch. */
  private process(readings: readonly Reading[]): void {
    if (readings.length === 0) return;
    const checked = readings.map((r) => this.quality.check(r));
    this.aggregator.add(checked);
    this.rawBatch.push(...checked);
    if (this.rawBatch.length >= this.rawBatchLimit) this.flushRaw();
  }

  stats(): Record<string, unknown> {
    return {
      clock: this.clock.stats(),
      quality: this.quality.stats(),
      aggregator: this.aggregator.stats(),
      buses: Object.fromEntries([...this.built.buses].map(([id, b]) => [id, b.stats()])),
      devices: Object.fromEntries(this.built.drivers.map((d) => [d.id, d.stats()])),
      uplink: this.uplink?.stats(),
      outbox: this.store?.count(),
      storeFault: this.writes?.fault(),
      held: this.writes?.held(),
    };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const { logger } = this.opts;
    clearInterval(this.flushTimer);
    clearInterval(this.closeTimer);
    await Promise.all(this.built.drivers.map((d) => d.stop()));
    const { held } = this.clock.stats();
    if (held > 0) logger.warn({ held }, 'clock never trusted: held readings discarded');
    this.flushRaw();
    if (this.clock.trusted) this.enqueue(this.aggregator.flushAll(Date.now()));
    await this.uplink?.stop();
    await Promise.all([...this.built.buses.values()].map((b) => b.close()));
    this.writes?.retryNow();
    this.writes?.stop();
    const pending = this.store?.count() ?? 0;
    this.store?.close();
    logger.info({ outboxKept: pending }, 'gateway stopped');
  }

  /** Drops counted by the store and the write buffer since the last summary travel with the next one. */
  private withDrops(summary: WindowSummary): WindowSummary {
    const none = { rawDropped: 0, summariesDropped: 0 };
    let fromStore = none;
    try {
      fromStore = this.store?.takeDropCounts() ?? none; // persisted: a failing disk keeps them for later
    } catch {
      fromStore = none;
    }
    const fromBuffer = this.writes?.takeDropCounts() ?? none;
    const raw = fromStore.rawDropped + fromBuffer.rawDropped;
    const summaries = fromStore.summariesDropped + fromBuffer.summariesDropped;
    return raw + summaries > 0 ? { ...summary, drops: { raw, summaries } } : summary;
  }

  private flushRaw(): void {
    if (this.rawBatch.length === 0 || !this.writes) return;
    const batch = this.rawBatch;
    this.rawBatch = [];
    this.writes.appendReadings(batch);
  }

  private closeWindows(now: number): void {
    this.process(this.clock.release());
    this.reportClockTrust();
    // Windows close, and silence is measured, only on a trusted clock.
    if (!this.clock.trusted) return;
    this.process(this.quality.sweep(now));
    this.enqueue(this.aggregator.close(now - this.closeGraceMs));
  }

  /** Logs once while the clock is not trusted, and once when it is. */
  private reportClockTrust(): void {
    const state = this.clock.trusted ? 'trusted' : 'waiting';
    if (state === this.clockReported) return;
    this.clockReported = state;
    const { logger, config } = this.opts;
    if (state === 'waiting') logger.warn({ trust: config.site.clock.trust }, 'clock not trusted yet (waiting for NTP): readings are held, no window closes');
    else logger.info(this.clock.stats(), 'clock trusted');
  }

  private enqueue(summaries: readonly WindowSummary[]): void {
    const { config } = this.opts;
    const topic = summaryTopic(config.uplink.topicPrefix, config.site.id, config.gateway.id);
    let last: WindowSummary | undefined;
    const batch: OutboxMessage[] = [];
    const events: GatewayEvent[] = [];
    for (const closed of summaries) {
      const summary = (last = this.withDrops(closed));
      const messages = buildOutboxMessages(summary, config.policy, config.uplink.format, topic, config.uplink.maxMessageBytes);
      batch.push(...messages);
      events.push({ type: 'summary', summary, messages });
    }
    // One health message per batch of closed windows (several close at once only after a stall).
    if (last) batch.push(...this.health.messages(last, this.built.buses, this.store));
    this.writes?.enqueueAll(batch); // one commit for all of them (SD card wear)
    for (const e of events) this.opts.onEvent?.(e);
    if (summaries.length > 0) this.uplink?.kick();
  }
}
