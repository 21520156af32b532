/**
 * The running gateway: drivers -> pipeline -> store -> uplink, wired from one validated config.
 *
 * Raw readings are written in batches (SD cards wear): a batch is committed with the summaries of the next
 * window that closes (one commit per window), or alone once its first reading has waited
 * store.commitInterval, or when it reaches rawBatchLimit() readings. A crash or a power cut loses at most
 * that batch; summaries are written to the outbox (and synced) as soon as their window closes. See docs/store.md.
 *
 * One gateway per store (the instance lock, taken first). After a crash, start() rebuilds the windows
 * the previous run left unsummarised from the stored readings and sends them marked (recovery.ts).
 *
 * Shutdown order: stop polling, close open windows into summaries (the raw batch in their commit),
 * deliver what the broker takes within the stop budget, publish `offline`, close buses and the store.
 */
import type { Logger } from '../core/logger.js';
import type { LedgerDelta } from '../core/ledger.js';
import type { OutboxMessage } from '../core/outbox.js';
import { pointKey, type Reading, type WindowSummary } from '../core/types.js';
import type { Config } from '../config/schema.js';
import { configWarnings } from '../config/warnings.js';
import { redactBrokerUrl } from '../core/broker-url.js';
import type { Profile } from '../profiles/schema.js';
import { Aggregator } from '../pipeline/aggregator.js';
import { ClockGuard, releaseFromPreviousWindow } from '../pipeline/clock.js';
import { defaultClockTrust } from '../pipeline/clock-trust.js';
import { QualityChecker } from '../pipeline/quality.js';
import { acquireInstanceLock, type InstanceLock } from '../store/instance-lock.js';
import { Store } from '../store/store.js';
import { WriteBuffer } from '../store/write-buffer.js';
import { errorMessage } from '../core/errors.js';
import { MqttUplink, buildWindowMessages, summaryTopic } from '../uplink/mqtt-uplink.js';
import { policyHash } from '../uplink/policy.js';
import { ModbusDeviceDriver } from '../drivers/modbus/modbus-driver.js';
import { HealthReporter } from './health.js';
import { windowLedger } from './ledger-figures.js';
import { GatewayStatus } from './status-source.js';
import type { StatusServer } from '../status/server.js';
import { CrashRecovery } from './recovery.js';
import { buildDrivers, type BuiltDrivers, type Driver } from './build-drivers.js';
import { loadDriverModules } from './driver-modules.js';
import { restartPlan, type RestartPlan } from './config-diff.js';
import { readUplinkSecrets } from './uplink-options.js';
import type { NodeRedHandle, NodeRedState } from '../nodered/start.js';
import type { Bridge } from '../bridge/server.js';
import type { BridgeListener } from '../bridge/host.js';

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
/** While the clock is not trusted: how often the close timer asks again (held readings wait for it). */
const CLOSE_TICK_UNTRUSTED_MS = 250;
/**
 * With a trusted clock the close timer is armed for the next due instant (a window's end plus grace, the
 * raw batch's commit), and runs at least this often: stale marks, the watchdog's sign of life.
 */
const CLOSE_TICK_MAX_MS = 1000;
/**
 * The close timer's floor: a close that keeps failing before it reaches the aggregator leaves the
 * window's end in the past, and must not turn the timer into a busy loop.
 */
const CLOSE_TICK_MIN_MS = 50;

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
  /** Flows copied into Node-RED's flow file when it has none (the demo's examples). */
  readonly noderedSeedFlows?: string;
  /** The Node-RED bridge's Unix socket (docs/node-red-bridge.md); no bridge when absent. */
  readonly bridge?: { readonly socketPath: string; readonly group?: string };
}

/**
 * How long after its end a window stays open. A reading is stamped when its request is sent and reaches
 * the pipeline when its device's cycle ends, after queueing behind other devices on the line, retries
 * included: twice the slowest request budget, at least 2 s, at most half a window.
 */
export function closeGrace(config: Config): number {
  const busOf = new Map(config.buses.map((b) => [b.id, b]));
  const budgets = config.devices.map((d) => {
    const bus = d.bus === undefined ? undefined : busOf.get(d.bus);
    return (d.timeout ?? bus?.timeout ?? 1000) * ((d.retries ?? bus?.retries ?? 0) + 1);
  });
  return Math.min(config.aggregation.window / 2, Math.max(2000, 2 * Math.max(0, ...budgets)));
}

/** A bus job running longer than this has hung: its timeouts should have ended it long before. */
export function busHangMs(config: Config): number {
  const budgets = config.devices.map((d) => {
    const bus = config.buses.find((b) => b.id === d.bus);
    return (d.timeout ?? bus?.timeout ?? 1000) * ((d.retries ?? bus?.retries ?? 0) + 1);
  });
  return Math.max(30_000, 3 * Math.max(0, ...budgets));
}

/** Whether the pipeline sees the same points under `next` as under `old`: then buses may restart alone. */
function samePipeline(old: Config, oldBuilt: BuiltDrivers, next: Config, nextBuilt: BuiltDrivers): boolean {
  const view = (c: Config, b: BuiltDrivers) => JSON.stringify([b.points, [...b.expectedPerWindow].sort(), b.quality, closeGrace(c)]);
  return view(old, oldBuilt) === view(next, nextBuilt);
}

/** Window closing runs at least every CLOSE_TICK_MAX_MS; not running for this long means the loop is starved. */
export const CLOSE_STALL_MS = 10_000;

export class Gateway {
  private built: BuiltDrivers;
  /** The config running now: a policy, uplink or bus change replaces it in place (reconfigure). */
  private config: Config;
  private readonly aggregator: Aggregator;
  private readonly quality: QualityChecker;
  private readonly clock: ClockGuard;
  private clockReported?: 'waiting' | 'trusted';
  private store?: Store;
  /** One gateway per store: held from start to stop (src/store/instance-lock.ts). */
  private lock?: InstanceLock;
  /** Holds writes in memory (bounded) while the disk is full or failing, and retries. */
  private writes?: WriteBuffer;
  private uplink?: MqttUplink;
  private rawBatch: Reading[] = [];
  /** performance.now() when the raw batch got its first reading: it is committed alone at commitInterval. */
  private rawBatchSince = 0;
  /** Windows a crash of the previous run left unsummarised, rebuilt from the store at start. */
  private recovery?: CrashRecovery;
  /** The window mark last written to the store (see store/window-mark.ts). */
  private savedMark = -Infinity;
  private closeTimer?: NodeJS.Timeout;
  private running = false;
  /** The supervised Node-RED child, when the config has an enabled `nodered:` section. */
  private nodered?: NodeRedHandle;
  private readonly closeGraceMs: number;
  private readonly health: HealthReporter;
  /** Windows whose messages could not be built, reported with the next summary. */
  private summariesNotBuilt = 0;
  /** Points cut from messages since the last health message (they are also in each summary's drops). */
  private pointsCut = 0;
  /** Recorded with every queued message; a backlog queued under another policy is not sent (start()). */
  private policy: string;
  private lastCloseTickAt = 0;
  private windowsClosed = 0;
  private ledgerPolicyNoted = false;
  /** The status page's view of the gateway, when `status:` is configured. */
  private readonly status?: GatewayStatus;
  private statusServer?: StatusServer;
  /** Resolves once every Modbus device has ended its first poll cycle (answered or not). */
  /** Per Modbus driver running now: resolved at its first cycle (a driver replaced by a reconfigure is dropped). */
  private readonly firstCycles = new Map<Driver, { cycled: Promise<void>; settle: () => void }>();
  /** Raw readings held before a commit is forced (rawBatchLimit). */
  readonly rawBatchLimit: number;
  /** The Node-RED bridge and who listens through it (readings after checks, closed summaries). */
  private bridge?: Bridge;
  private readonly listeners = new Set<BridgeListener>();
  /** Good readings received per bus since the start (any protocol): what a remote trial compares. */
  private readonly goodByBus = new Map<string, number>();

  constructor(private readonly opts: GatewayOptions) {
    const { config } = opts;
    this.config = config;
    this.built = buildDrivers(config, opts.profiles, opts.logger);
    this.quality = new QualityChecker(this.built.quality);
    const rollovers = new Map(this.built.quality.map((q) => [pointKey(q.device, q.point), q.rolloverAt]));
    this.closeGraceMs = closeGrace(config);
    this.policy = policyHash(config.policy);
    this.rawBatchLimit = rawBatchLimit(config, this.built.expectedPerWindow);
    this.health = new HealthReporter(config, opts.logger, () => this.clock.trusted);
    if (config.status) {
      this.status = new GatewayStatus({
        config,
        points: this.built.points,
        expectedPerWindow: this.built.expectedPerWindow,
        buses: this.built.buses,
        serial: this.built.drivers.filter((d) => !(d instanceof ModbusDeviceDriver)),
        store: () => this.store,
        clock: () => ({ trusted: this.clock.trusted, held: this.clock.stats().held }),
      });
    }
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

  /** The status page's address once started (`status:` configured), e.g. http://127.0.0.1:8780/. */
  get statusUrl(): string | undefined {
    return this.statusServer?.url;
  }

  get brokerUrl(): string | undefined {
    return this.config.uplink.broker ?? this.opts.brokerUrl;
  }

  async start(): Promise<void> {
    const { config } = this;
    // Before anything else: a second gateway on this store refuses at once, naming the first.
    this.lock = acquireInstanceLock(config.store.path, 'gateway');
    try {
      await this.startLocked();
    } catch (e) {
      await this.abandonStart();
      this.lock.release();
      throw e;
    }
  }

  /** A start that failed halfway closes what it opened, so the same process can start again (remote rollback). */
  private async abandonStart(): Promise<void> {
    this.running = false;
    clearTimeout(this.closeTimer);
    const quietly = async (step: () => unknown) => {
      try {
        await step();
      } catch {
        // already failing: the start's own error is the one reported
      }
    };
    await quietly(() => this.nodered?.stop());
    await quietly(() => this.bridge?.close());
    await quietly(() => this.statusServer?.close());
    this.statusServer = undefined;
    await quietly(() => Promise.all(this.built.drivers.map((d) => d.stop())));
    await quietly(() => this.uplink?.stop());
    await quietly(() => Promise.all([...this.built.buses.values()].map((b) => b.close())));
    await quietly(() => this.writes?.stop());
    await quietly(() => this.store?.close());
    this.store = undefined;
  }

  private async startLocked(): Promise<void> {
    const { config } = this;
    const { logger } = this.opts;
    for (const w of configWarnings(config)) logger.warn({ field: w.path.join('.') }, w.message);
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
      timeZone: config.site.timezone,
    });
    this.writes = new WriteBuffer({ target: this.store, logger: storeLogger, onRecovered: () => this.uplink?.kick() });
    this.dropBacklogOfOtherPolicies(storeLogger);
    this.recoverInterruptedWindows();
    await this.startUplink(secrets);
    if (config.status && this.status) {
      // Loaded only when configured: a gateway without a page never loads node:https or the page.
      const { startStatusServer } = await import('../status/server.js');
      this.statusServer = await startStatusServer(config.status, this.status, config.site.id, logger.child({ part: 'status' }));
    }
    this.running = true;
    this.lastCloseTickAt = performance.now();
    this.armCloseTimer();
    await this.startDrivers(this.built.drivers);
    // The bridge first: Node-RED's nodes connect to its socket as soon as they start.
    const bridge = this.opts.bridge ?? (await bridgeOfSite(config));
    // Flows are an extra: a bridge that cannot start (its folder unwritable, say) never stops the polling.
    if (bridge) await this.startBridge(bridge).catch((e: unknown) => logger.error({ err: errorMessage(e), socket: bridge.socketPath }, 'Node-RED bridge not started; the gateway runs without it'));
    await this.startNodeRed();
    // Every configured bus, serial-protocol ones included (built.buses holds the Modbus ones only).
    logger.info({ devices: config.devices.length, buses: config.buses.length, store: config.store.path, broker: this.brokerUrl && redactBrokerUrl(this.brokerUrl) }, 'gateway started');
  }

  private async startDrivers(drivers: readonly Driver[]): Promise<void> {
    const busOf = new Map(this.config.devices.map((d) => [d.id, d.bus]));
    for (const driver of drivers) {
      let cycled: () => void = () => undefined;
      if (driver instanceof ModbusDeviceDriver) {
        let settle: () => void = () => undefined;
        const first = new Promise<void>((resolve) => (settle = resolve));
        this.firstCycles.set(driver, { cycled: first, settle });
        cycled = settle;
      }
      const bus = busOf.get(driver.id);
      await driver.start((readings) => {
        cycled();
        if (bus !== undefined) this.countGood(bus, readings);
        this.ingest(readings);
      });
    }
  }

  /** Good readings per bus: frames whose checksum (CRC, TIC group checksum) held, for the remote trial. */
  private countGood(bus: string, readings: readonly Reading[]): void {
    let good = 0;
    for (const r of readings) if (r.quality === 'good') good += 1;
    if (good > 0) this.goodByBus.set(bus, (this.goodByBus.get(bus) ?? 0) + good);
  }

  /** The MQTT uplink of the running config (none without a broker: summaries wait in the outbox). */
  private async startUplink(secrets: ReturnType<typeof readUplinkSecrets>): Promise<void> {
    const { config } = this;
    const { logger } = this.opts;
    const url = this.brokerUrl;
    if (!url) {
      logger.warn('no broker configured: summaries stay in the outbox');
      return;
    }
    this.uplink = new MqttUplink({
      url,
      site: config.site.id,
      gateway: config.gateway.id,
      topicPrefix: config.uplink.topicPrefix,
      outbox: this.store!,
      logger: logger.child({ part: 'uplink' }),
      clientId: config.uplink.clientId ?? `passerelle-${config.site.id}-${config.gateway.id}`,
      protocolVersion: config.uplink.protocolVersion,
      maxInFlight: config.uplink.maxInFlight,
      maxMessagesPerSecond: config.uplink.maxMessagesPerSecond,
      ...secrets,
      onPublished: (message, bytes) => {
        // One line per message, so the journal shows that data leaves (and how much).
        logger.info({ topic: message.topic, bytes }, 'published');
        this.opts.onEvent?.({ type: 'published', message, bytes });
        this.status?.noteSent(message, bytes);
      },
    });
    await this.uplink.start();
  }

  /** Last: Node-RED is loaded (in a child process) only when the site enables it. */
  private async startNodeRed(): Promise<void> {
    const { config, logger } = this.opts;
    if (!config.nodered?.enabled) return;
    if (config.nodered.supervisor === 'systemd') {
      // The packaged passerelle-nodered.service runs it as its own user; the gateway only hosts the bridge.
      logger.info({ socket: config.nodered.socket }, 'Node-RED runs in passerelle-nodered.service (nodered.supervisor: systemd), not as a child of the gateway');
      return;
    }
    const { startNodeRed } = await import('../nodered/start.js');
    this.nodered = startNodeRed(config.nodered, { logger, seedFlows: this.opts.noderedSeedFlows });
  }

  /**
   * Stops Node-RED, runs `between` (its flows file replaced by a remote push), starts it again: the
   * one restart of Node-RED alone, when its flows change and nothing else does.
   */
  async restartNodeRed(between: () => void): Promise<void> {
    await this.nodered?.stop();
    this.nodered = undefined;
    between();
    if (this.running) await this.startNodeRed();
  }

  /** Node-RED's state (running, restarting, crash-loop, no-password...), undefined when not configured. */
  noderedState(): NodeRedState | undefined {
    return this.nodered?.state();
  }

  /** Loaded only when flows may connect (a `nodered:` section enabled, or the option). */
  private async startBridge(where: { socketPath: string; group?: string }): Promise<void> {
    const { config, profiles, logger } = this.opts;
    const [{ createBridgeHost }, { startBridge }] = await Promise.all([import('./bridge-host.js'), import('../bridge/server.js')]);
    const host = createBridgeHost({
      config,
      profiles,
      buses: this.built.buses,
      points: this.built.points,
      logger: logger.child({ part: 'bridge' }),
      ingest: (readings) => this.ingest(readings),
      listen: (listener) => {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      },
    });
    this.bridge = await startBridge({ ...where, host, logger: logger.child({ part: 'bridge' }) });
  }

  /** A listener's failure (a bridge bug) must never reach the pipeline. */
  private tell(f: (l: BridgeListener) => void): void {
    for (const l of this.listeners) {
      try {
        f(l);
      } catch (e) {
        this.opts.logger.error({ err: errorMessage(e) }, 'bridge listener failed; the gateway keeps running');
      }
    }
  }

  /** Before the drivers start: windows the previous run was killed in are rebuilt from the store. */
  private recoverInterruptedWindows(): void {
    const { config } = this;
    const { logger } = this.opts;
    const { recovery, closed } = CrashRecovery.replay({
      store: this.store!,
      aggregator: this.aggregator,
      windowMs: config.aggregation.window,
      timeZone: config.site.timezone,
      expectedPerWindow: this.built.expectedPerWindow,
      logger,
    });
    this.recovery = recovery;
    this.savedMark = this.store!.windowsClosedBefore() ?? -Infinity;
    this.enqueue(closed);
    this.saveWindowMark();
  }

  /**
   * Messages queued under another site policy (it was tightened, or they predate policy hashes) would
   * leave under rules the site no longer has: they are deleted and counted as dropped summaries.
   */
  private dropBacklogOfOtherPolicies(logger: Logger): void {
    // Not caught: a store that cannot be checked stops the start, like one that cannot be opened.
    const dropped = this.store?.dropPendingNotUnder(this.policy) ?? 0;
    if (dropped > 0) logger.warn({ dropped, policy: this.policy }, 'queued summaries built under another policy dropped, not sent');
  }

  /** Pipeline entry: clock guard (readings held until the clock is trusted), then process(). */
  ingest(readings: readonly Reading[]): void {
    if (!this.running) return;
    this.process(this.clock.admit(readings));
  }

  /** Quality checks, then aggregation and the raw batch. */
  private process(readings: readonly Reading[]): void {
    if (readings.length === 0) return;
    const firstLive = this.recovery?.noteLive(readings);
    if (firstLive !== undefined) {
      this.enqueue(this.aggregator.close(firstLive - this.closeGraceMs));
      this.saveWindowMark();
    }
    const checked = readings.map((r) => this.quality.check(r));
    this.status?.noteReadings(checked);
    this.aggregator.add(checked);
    if (this.rawBatch.length === 0) this.rawBatchSince = performance.now();
    this.rawBatch.push(...checked);
    if (this.listeners.size > 0) this.tell((l) => l.readings(checked));
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
      bridge: this.bridge?.stats(),
      held: this.writes?.held(),
      nodered: this.nodered?.state(),
    };
  }

  /** Resolves when every Modbus device has had its first poll cycle (serial meters push: not awaited). */
  async firstCycle(): Promise<void> {
    // The drivers running now; one a reconfigure replaced is settled when dropped, then its successor counts.
    for (;;) {
      const drivers = this.built.drivers;
      await Promise.all(drivers.map((d) => this.firstCycles.get(d)?.cycled));
      if (this.built.drivers === drivers) return;
    }
  }

  /** Why the gateway makes no progress (a hung bus, window closing not running), or undefined. */
  stalled(now = performance.now()): string | undefined {
    if (!this.running) return 'not running';
    const sinceClose = now - this.lastCloseTickAt;
    if (sinceClose > CLOSE_STALL_MS) return `window closing has not run for ${Math.round(sinceClose / 1000)} s`;
    const hangMs = busHangMs(this.config);
    for (const [id, bus] of this.built.buses) {
      const busy = bus.busyForMs(now);
      if (busy > hangMs) return `bus ${id}: one request has been running for ${Math.round(busy / 1000)} s`;
    }
    return undefined;
  }

  /** One line for systemd's STATUS. */
  statusLine(): string {
    let outbox = '?';
    try {
      outbox = String(this.store?.count() ?? 0);
    } catch {
      // a failing disk: the status says it does not know
    }
    const clock = this.clock.trusted ? 'clock trusted' : 'waiting for a trusted clock';
    const nodered = this.nodered ? `, Node-RED ${this.nodered.state().status}` : '';
    return `${this.built.drivers.length} devices, ${this.windowsClosed} windows closed, ${outbox} in outbox, ${clock}${nodered}`;
  }

  /**
   * Runs `next` by restarting only the parts that changed (config-diff.ts) and returns the plan. A
   * `full` plan is left to the caller (stop, then a new Gateway), as is a throw halfway through.
   */
  async reconfigure(next: Config): Promise<RestartPlan> {
    await loadDriverModules(next);
    let built: BuiltDrivers | undefined;
    const plan = restartPlan(this.config, next, () => {
      built = buildDrivers(next, this.opts.profiles, this.opts.logger);
      return samePipeline(this.config, this.built, next, built);
    });
    if (plan.kind !== 'parts') return plan;
    if (!this.running) return { kind: 'full', why: 'not running' };
    // The bridge and the status page hold the lines and the config they started with.
    if ((this.bridge || this.statusServer) && (plan.buses.length > 0 || plan.uplink)) return { kind: 'full', why: 'the bridge or the status page uses the lines and the uplink' };
    const old = this.config;
    this.config = next;
    this.health.reconfigure(next);
    if (plan.policy) this.swapPolicy();
    if (plan.buses.length > 0) await this.restartBuses(plan.buses, old, built!);
    if (plan.uplink) await this.restartUplink();
    this.opts.logger.info({ policy: plan.policy, uplink: plan.uplink, buses: plan.buses }, 'config changed: only these parts restarted');
    return plan;
  }

  /** New policy: summaries from now on are built under it; the queue built under the old one is dropped, as at a start. */
  private swapPolicy(): void {
    this.policy = policyHash(this.config.policy);
    this.dropBacklogOfOtherPolicies(this.opts.logger.child({ part: 'store' }));
  }

  /** Stops the drivers and closes the lines of `ids`, then starts those of `next`; other buses keep polling. */
  private async restartBuses(ids: readonly string[], old: Config, next: BuiltDrivers): Promise<void> {
    const touched = new Set(ids);
    const onTouched = (config: Config) => {
      const busOf = new Map(config.devices.map((d) => [d.id, d.bus]));
      return (d: Driver) => touched.has(busOf.get(d.id) ?? '');
    };
    const [wasTouched, isTouched] = [onTouched(old), onTouched(this.config)];
    await Promise.all(this.built.drivers.filter(wasTouched).map((d) => d.stop()));
    for (const d of this.built.drivers.filter(wasTouched)) {
      this.firstCycles.get(d)?.settle();
      this.firstCycles.delete(d);
    }
    await Promise.all([...this.built.buses].filter(([id]) => touched.has(id)).map(([, b]) => b.close()));
    const buses = new Map([...this.built.buses].filter(([id]) => !touched.has(id)));
    for (const [id, b] of next.buses) if (touched.has(id)) buses.set(id, b);
    const started = next.drivers.filter(isTouched);
    this.built = { ...next, buses, drivers: [...this.built.drivers.filter((d) => !wasTouched(d)), ...started] };
    await this.startDrivers(started);
  }

  private async restartUplink(): Promise<void> {
    const secrets = this.brokerUrl ? readUplinkSecrets(this.config.uplink) : {};
    await this.uplink?.stop();
    this.uplink = undefined;
    await this.startUplink(secrets);
  }

  /** Good readings per bus since the start (frames whose CRC or checksum held). */
  goodReadingsByBus(): ReadonlyMap<string, number> {
    return this.goodByBus;
  }

  /** The trial's store probe: a canary written through the store (one synced commit) and read back. Undefined when it holds. */
  probeStore(): string | undefined {
    const fault = this.writes?.fault();
    if (fault !== undefined) return String(fault);
    if (!this.store) return 'the store is not open';
    const wrote = Date.now();
    try {
      const read = this.store.writeCanary(wrote);
      return read === wrote ? undefined : `wrote ${wrote}, read back ${String(read)}`;
    } catch (e) {
      return errorMessage(e);
    }
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const { logger } = this.opts;
    clearTimeout(this.closeTimer);
    // Flows first: they read through the gateway, which is about to stop; then their socket.
    await this.nodered?.stop();
    await this.bridge?.close();
    this.bridge = undefined;
    await this.statusServer?.close();
    this.statusServer = undefined;
    await Promise.all(this.built.drivers.map((d) => d.stop()));
    const { held } = this.clock.stats();
    if (held > 0) {
      logger.warn({ held }, 'clock never trusted: held readings discarded');
      this.noteLedgerQuietly(Date.now(), { clockHeldDiscarded: held });
    }
    // The open windows' summaries take the raw batch along (one commit); flushRaw writes what none took.
    if (this.clock.trusted) this.enqueue(this.aggregator.flushAll(Date.now()));
    this.flushRaw();
    this.saveWindowMark();
    await this.uplink?.stop();
    await Promise.all([...this.built.buses.values()].map((b) => b.close()));
    this.writes?.retryNow();
    this.writes?.stop();
    const pending = this.store?.count() ?? 0;
    this.store?.close();
    this.lock?.release();
    logger.info({ outboxKept: pending }, 'gateway stopped');
  }

  /**
   * One window's messages. Points that cannot fit a message are cut and counted by the builder; a
   * window that still cannot be built (a bug) is logged and counted as a dropped summary, never thrown.
   */
  private buildMessages(summary: WindowSummary, topic: string): OutboxMessage[] {
    const { config } = this;
    const { logger } = this.opts;
    try {
      const built = buildWindowMessages(summary, config.policy, config.uplink.format, topic, config.uplink.maxMessageBytes);
      if (built.pointsCut > 0) {
        this.pointsCut += built.pointsCut;
        logger.warn({ window: summary.id, points: built.pointsCut, maxMessageBytes: config.uplink.maxMessageBytes }, 'points cut or left out: too large for one message');
      }
      return built.messages;
    } catch (e) {
      this.summariesNotBuilt += 1;
      logger.error({ window: summary.id, err: errorMessage(e) }, 'window summary not built; counted as a dropped summary');
      return [];
    }
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
    const summaries = fromStore.summariesDropped + fromBuffer.summariesDropped + this.summariesNotBuilt;
    this.summariesNotBuilt = 0;
    return raw + summaries > 0 ? { ...summary, drops: { raw, summaries } } : summary;
  }

  private flushRaw(): void {
    if (this.rawBatch.length === 0 || !this.writes) return;
    this.writes.appendReadings(this.takeRawBatch());
  }

  /**
   * One timer for window closing, re-armed for the next due instant rather than a fixed fast tick (a
   * wake-up 4 times a second cost CPU on every gateway): nothing closes later than before.
   */
  private armCloseTimer(): void {
    if (!this.running) return;
    this.closeTimer = setTimeout(() => {
      try {
        this.closeWindows(Date.now());
        this.flushRawIfDue();
      } finally {
        this.armCloseTimer();
      }
    }, this.closeTimerDelay());
  }

  /** Until the earliest of: the current window's end plus grace, the raw batch's commit, CLOSE_TICK_MAX_MS. */
  private closeTimerDelay(): number {
    if (!this.clock.trusted) return CLOSE_TICK_UNTRUSTED_MS;
    let delay = CLOSE_TICK_MAX_MS;
    const windowDue = this.aggregator.currentWindowEnd() + this.closeGraceMs - Date.now();
    if (windowDue < delay) delay = windowDue; // NaN before the first close: not less, the maximum stays
    if (this.rawBatch.length > 0) delay = Math.min(delay, this.rawBatchSince + this.config.store.commitInterval - performance.now());
    return Math.max(CLOSE_TICK_MIN_MS, Math.ceil(delay));
  }

  /** A batch no window close took along within store.commitInterval is committed alone. */
  private flushRawIfDue(): void {
    if (this.rawBatch.length > 0 && performance.now() - this.rawBatchSince >= this.config.store.commitInterval) this.flushRaw();
  }

  private takeRawBatch(): Reading[] {
    const batch = this.rawBatch;
    this.rawBatch = [];
    return batch;
  }

  /** A timer tick: whatever a device or a line sent, an exception here must not stop the gateway. */
  private closeWindows(now: number): void {
    this.lastCloseTickAt = performance.now();
    try {
      this.closeWindowsNow(now);
    } catch (e) {
      this.opts.logger.error({ err: errorMessage(e) }, 'closing windows failed; the gateway keeps running');
    }
  }

  private closeWindowsNow(now: number): void {
    this.process(this.clock.release());
    this.reportClockTrust();
    // Windows close, and silence is measured, only on a trusted clock.
    if (!this.clock.trusted) return;
    this.process(this.quality.sweep(now));
    this.enqueue(this.aggregator.close(now - this.closeGraceMs));
    this.saveWindowMark();
  }

  /**
   * The store learns that every window before the aggregator's "closed before" is summarised. Usually
   * written with the window's summaries (enqueue); here alone when windows closed with nothing to send.
   * Not while summaries wait in memory (store failing): those windows stay to rebuild.
   */
  private saveWindowMark(): void {
    const before = this.markToSave();
    if (before === undefined) return;
    try {
      this.store!.markWindowsClosedBefore(before);
      this.savedMark = before;
    } catch (e) {
      this.opts.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'window mark not saved; retried at the next window');
    }
  }

  /** The aggregator's "closed before" when the store does not have it yet (and holds nothing in memory). */
  private markToSave(): number | undefined {
    const before = this.aggregator.acceptsFrom();
    return before <= this.savedMark || !this.store || this.writes?.fault() !== undefined ? undefined : before;
  }

  /** The ledger rides on the window's commit (Store.noteLedger); the policy is recorded once per run. */
  private noteLedgerQuietly(ts: number, delta: LedgerDelta): void {
    try {
      const policy = this.ledgerPolicyNoted ? undefined : { hash: this.policy, json: JSON.stringify(this.opts.config.policy) };
      this.store?.noteLedger(ts, delta, policy);
      this.ledgerPolicyNoted = true;
    } catch (e) {
      this.opts.logger.warn({ err: errorMessage(e) }, 'daily ledger not updated');
    }
  }

  /** Logs once while the clock is not trusted, and once when it is. */
  private reportClockTrust(): void {
    const state = this.clock.trusted ? 'trusted' : 'waiting';
    if (state === this.clockReported) return;
    this.clockReported = state;
    const { config } = this;
    const { logger } = this.opts;
    if (state === 'waiting') logger.warn({ trust: config.site.clock.trust }, 'clock not trusted yet (waiting for NTP): readings are held, no window closes');
    else logger.info(this.clock.stats(), 'clock trusted');
  }

  private enqueue(summaries: readonly WindowSummary[]): void {
    const { config } = this;
    const topic = summaryTopic(config.uplink.topicPrefix, config.site.id, config.gateway.id);
    let last: WindowSummary | undefined;
    const batch: OutboxMessage[] = [];
    const events: GatewayEvent[] = [];
    this.windowsClosed += summaries.length;
    for (const closed of summaries) {
      const settled = this.recovery ? this.recovery.settle(closed) : closed;
      if (!settled) continue; // rebuilt after a crash, but its summary had reached the outbox already
      const summary = (last = this.withDrops(settled));
      const messages = this.buildMessages(summary, topic).map((m) => ({ ...m, policy: this.policy }));
      batch.push(...messages);
      events.push({ type: 'summary', summary, messages });
      this.status?.noteWindow(summary);
      this.noteLedgerQuietly(summary.start, { ...windowLedger(summary, config.policy), policies: [this.policy] });
      const bytes = messages.reduce((n, m) => n + m.payload.length, 0);
      this.opts.logger.info({ start: new Date(summary.start).toISOString(), points: summary.points.length, messages: messages.length, bytes }, 'window closed');
    }
    // One health message per batch of closed windows (several close at once only after a stall).
    if (last) {
      const drops = { raw: last.drops?.raw ?? 0, summaries: last.drops?.summaries ?? 0, points: this.pointsCut };
      this.pointsCut = 0;
      const serial = this.built.drivers.filter((d) => !(d instanceof ModbusDeviceDriver));
      for (const m of this.health.messages({ ...last, drops }, this.built.buses, this.store, serial)) batch.push({ ...m, policy: this.policy });
    }
    // One commit for all of them, the window mark and the raw batch (SD card wear; a crash cannot split them).
    const mark = this.markToSave();
    const raw = batch.length > 0 && this.writes ? this.takeRawBatch() : [];
    if (this.writes?.enqueueAll(batch, mark, raw) && mark !== undefined) this.savedMark = mark;
    for (const e of events) {
      this.opts.onEvent?.(e);
      if (e.type === 'summary' && this.listeners.size > 0) this.tell((l) => l.summary(e.summary));
    }
    if (summaries.length > 0) this.uplink?.kick();
  }
}

/**
 * The bridge socket of a site whose Node-RED is enabled: the Passerelle nodes' only way to the gateway.
 * Its group is `socketGroup`, or, when Node-RED runs as `runAs` (the gateway is root, or the packaged
 * unit runs it: supervisor systemd, and the gateway's user is in that group), the group of that name:
 * the socket is 0660, so the flows reach it and nobody else does.
 */
async function bridgeOfSite(config: Config): Promise<{ socketPath: string; group?: string } | undefined> {
  const nodered = config.nodered;
  if (!nodered?.enabled) return undefined;
  let group = nodered.socketGroup ?? (nodered.supervisor === 'systemd' ? nodered.runAs : undefined);
  if (group === undefined) {
    const { resolveRunAs } = await import('../nodered/run-as.js');
    const runAs = resolveRunAs(nodered.runAs);
    if (runAs) group = String(runAs.gid);
  }
  return { socketPath: nodered.socket, ...(group !== undefined && { group }) };
}
