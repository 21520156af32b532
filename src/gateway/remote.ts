/**
 * The gateway under remote configuration: the agent (src/remote) decides which config runs; this file
 * is the narrow hook it is given (RemoteRuntime). A changed config restarts only the parts it changes
 * (gateway/config-diff.ts: a policy swap keeps buses, store and uplink open); a change no part can take
 * alone restarts the Gateway as a whole (stop in order, start with the new config): the store and outbox
 * are on disk, so nothing acknowledged is lost either way.
 */
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatIssue, type Config, type RemoteConfig } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { pointKey } from '../core/types.js';
import type { Profile } from '../profiles/schema.js';
import type { BusStats } from '../bus/modbus-bus.js';
import { RemoteAgent } from '../remote/agent.js';
import { ConfigChannel, tryConnect, type ChannelConnection } from '../remote/channel.js';
import { FLOWS_FILE } from '../remote/bundle.js';
import { Refusal } from '../remote/refusal.js';
import { readRequest } from '../remote/running.js';
import { uplinkChanges, type PointClasses } from '../remote/role.js';
import type { ProbeResult, RemoteRuntime, TrialProbe } from '../remote/runtime.js';
import { StateDir } from '../remote/state.js';
import type { RestartPlan } from './config-diff.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { buildDrivers } from './build-drivers.js';
import { loadDriverModules } from './driver-modules.js';
import { editedPushedFlows, flowsEditedOnSite, flowsWouldChange, installFlows, readIfAny } from './nodered-flows.js';
import { noderedProbe } from './nodered-probe.js';
import { checkSite } from './load-site.js';
import type { SiteParse } from '../remote/verify.js';
import { readUplinkSecrets } from './uplink-options.js';

const PROBE_TICK_MS = 200;

/** What the running gateway saw before a change, compared after it; plain JSON (persisted with the trial). */
export interface GatewayBaseline {
  /** Buses where a device answered (Modbus reply or exception, or a serial frame whose checksum held). */
  buses: Record<string, { answers: number; errorRate: number }>;
  /** Baselines of the probes other parts added (addProbe), by name. */
  probes: Record<string, unknown>;
}

/** Answers per bus: Modbus replies and exceptions (timeouts do not count), plus good readings of any protocol. */
function busAnswers(gateway: Gateway | undefined): Map<string, { answers: number; errorRate: number }> {
  const out = new Map<string, { answers: number; errorRate: number }>();
  if (!gateway) return out;
  for (const [id, s] of Object.entries((gateway.stats().buses ?? {}) as Record<string, BusStats>)) {
    const units = Object.values(s.units);
    const answered = units.reduce((n, u) => n + u.ok + Object.values(u.exceptions).reduce((a, b) => a + b, 0), 0);
    const requests = units.reduce((n, u) => n + u.requests, 0);
    out.set(id, { answers: answered, errorRate: requests > 0 ? 1 - answered / requests : 0 });
  }
  for (const [id, good] of gateway.goodReadingsByBus()) {
    const m = out.get(id);
    out.set(id, { answers: (m?.answers ?? 0) + good, errorRate: m?.errorRate ?? 0 });
  }
  return out;
}

const isBaseline = (b: unknown): b is GatewayBaseline => typeof b === 'object' && b !== null && 'buses' in b && 'probes' in b;

export const channelConnection = (config: Config): ChannelConnection | undefined => {
  if (!config.uplink.broker) return undefined;
  const s = readUplinkSecrets(config.uplink);
  return { url: config.uplink.broker, ...s };
};

/** The profiles a device of `config` uses, as one comparable text: another text restarts the whole gateway. */
const usedProfiles = (config: Config, profiles: ReadonlyMap<string, Profile>): string =>
  JSON.stringify(config.devices.flatMap((d) => (d.profile === undefined ? [] : [[d.profile, profiles.get(d.profile) ?? null]])));

export interface RuntimeHooks {
  /** The profile library a config was checked against (its bundle's own profiles included); the base's otherwise. */
  readonly profilesFor?: (config: Config) => ReadonlyMap<string, Profile> | undefined;
  /** The Node-RED flows a config's bundle carries (`nodered/flows.json`); undefined: the site's own flows. */
  readonly flowsFor?: (config: Config) => string | undefined;
}

export class GatewayRuntime implements RemoteRuntime {
  private gateway?: Gateway;
  private current?: Config;
  private currentProfiles = '';
  private readonly probes = new Map<string, TrialProbe>();
  private readonly log: Logger;

  constructor(
    private readonly base: Omit<GatewayOptions, 'config'>,
    /** Called after each (re)start, e.g. to move the config channel to a new broker. */
    private readonly onRun?: (config: Config, previous: Config | undefined) => Promise<void>,
    private readonly hooks: RuntimeHooks = {},
  ) {
    this.log = base.logger.child({ part: 'remote' });
  }

  get running(): Gateway | undefined {
    return this.gateway;
  }

  /**
   * Runs `config`: only the parts that changed restart (gateway/config-diff.ts); a change no part can
   * take alone, or a part that fails to restart alone, restarts the whole gateway.
   */
  async run(config: Config): Promise<void> {
    const previous = this.current;
    const profiles = this.hooks.profilesFor?.(config) ?? this.base.profiles;
    const flows = this.hooks.flowsFor?.(config);
    // Flows are installed only into a Node-RED the gateway runs (preflightFlows refuses the others).
    const nodered = config.nodered?.enabled && config.nodered.supervisor !== 'systemd' ? config.nodered : undefined;
    const profilesText = usedProfiles(config, profiles);
    // A profile that changed under the same config: the drivers decode with it, so everything restarts.
    if (this.gateway && profilesText === this.currentProfiles) {
      const plan = await this.gateway.reconfigure(config).catch((e: unknown): RestartPlan => ({ kind: 'full', why: `a part failed to restart alone: ${errorMessage(e)}` }));
      if (plan.kind !== 'full') {
        this.current = config;
        // Node-RED is stopped while its flows file is replaced, then started again.
        if (nodered && flowsWouldChange(nodered, flows)) {
          this.log.info('Node-RED flows changed: Node-RED restarts');
          await this.gateway.restartNodeRed(() => installFlows(nodered, flows));
        }
        if (plan.kind === 'parts') await this.onRun?.(config, previous);
        return;
      }
      this.log.info({ why: plan.why }, 'config changed: the whole gateway restarts');
    } else if (this.gateway) this.log.info({ why: 'a profile changed' }, 'config changed: the whole gateway restarts');
    // Detached first: a gateway that is stopping is not the one running (systemd's watchdog then
    // counts a restart, not a stall).
    const stopping = this.gateway;
    this.gateway = undefined;
    await stopping?.stop();
    if (nodered) installFlows(nodered, flows);
    await loadDriverModules(config);
    const gateway = new Gateway({ ...this.base, config, profiles });
    this.current = config;
    this.currentProfiles = profilesText;
    await gateway.start();
    this.gateway = gateway;
    await this.onRun?.(config, previous);
  }

  addProbe(name: string, probe: TrialProbe): void {
    this.probes.set(name, probe);
  }

  baseline(): GatewayBaseline {
    const probes: Record<string, unknown> = {};
    for (const [name, p] of this.probes) probes[name] = p.baseline();
    return { buses: Object.fromEntries([...busAnswers(this.gateway)].filter(([, b]) => b.answers > 0)), probes };
  }

  /**
   * The trial: every bus in the baseline that the new config still has answers again (a new answer
   * after the probe starts), the store writes and reads back a canary, and each added probe holds. The
   * broker round trip is the agent's (status PUBACK).
   */
  async probe(baseline: unknown, deadline: number): Promise<ProbeResult> {
    const base: GatewayBaseline = isBaseline(baseline) ? baseline : { buses: {}, probes: {} };
    const store = this.gateway ? this.gateway.probeStore() : 'the gateway is not running';
    if (store !== undefined) return { ok: false, reason: 'probe:store', detail: store };
    const buses = await this.probeBuses(base, deadline);
    if (!buses.ok) return buses;
    for (const [name, p] of this.probes) {
      const r = await p.probe(base.probes[name], deadline);
      if (!r.ok) return r;
    }
    return { ok: true };
  }

  private async probeBuses(base: GatewayBaseline, deadline: number): Promise<ProbeResult> {
    const expected = Object.keys(base.buses).filter((id) => this.current?.buses.some((b) => b.id === id));
    const at = busAnswers(this.gateway);
    const since = new Map(expected.map((id) => [id, at.get(id)?.answers ?? 0]));
    for (;;) {
      const now = busAnswers(this.gateway);
      const missing = expected.filter((id) => (now.get(id)?.answers ?? 0) <= since.get(id)!);
      if (missing.length === 0) return { ok: true };
      if (Date.now() >= deadline) {
        const was = missing.map((id) => `${id} (error rate before ${Math.round(base.buses[id]!.errorRate * 100)} %)`).join(', ');
        return { ok: false, reason: `probe:bus:${missing[0]}`, detail: `no answer on ${was} during the trial (they answered before)` };
      }
      await new Promise((r) => setTimeout(r, PROBE_TICK_MS));
    }
  }

  async preflight(next: Config, running: Config, forced = false): Promise<void> {
    preflightNoderedUnit(running, next);
    this.preflightFlows(next, forced);
    if (uplinkChanges(running.uplink, next.uplink).length === 0) return;
    try {
      const conn = channelConnection(next);
      if (conn) await tryConnect(conn, `passerelle-preflight-${next.gateway.id}`);
    } catch (e) {
      throw new Refusal('preflight:broker', `new uplink settings do not connect: ${errorMessage(e)}`);
    }
  }

  /** Flows changed in the editor are never written over: a push that would replace them is refused (`base: any` forces it). */
  private preflightFlows(next: Config, forced: boolean): void {
    if (!next.nodered?.enabled) return;
    const flows = this.hooks.flowsFor?.(next);
    // passerelle-nodered.service runs Node-RED as its own user, whose files the gateway cannot write.
    if (next.nodered.supervisor === 'systemd' && flows !== undefined)
      throw new Refusal('preflight:nodered', 'Node-RED runs in passerelle-nodered.service (nodered.supervisor: systemd): its flows are edited on site, not pushed; sign the bundle without nodered/flows.json');
    if (forced || next.nodered.supervisor === 'systemd') return;
    if (!flowsWouldChange(next.nodered, flows)) return;
    const edited = flowsEditedOnSite(next.nodered);
    if (edited) throw new Refusal('base-mismatch', `${edited}: merge them into the bundle's nodered/flows.json (or sign with base: any to replace them)`);
  }

  localEdits(): { flows?: string } | undefined {
    const nodered = this.current?.nodered;
    const flows = nodered?.enabled ? editedPushedFlows(nodered) : undefined;
    return flows === undefined ? undefined : { flows };
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    this.gateway = undefined;
  }
}

/**
 * Under `supervisor: systemd`, passerelle-nodered.service reads its settings from the site file when it
 * starts, not from the slot a push runs from: a pushed change of the `nodered:` section would leave the
 * gateway and Node-RED on two configs, so it is refused (the section is changed on site).
 */
function preflightNoderedUnit(running: Config, next: Config): void {
  const byUnit = running.nodered?.supervisor === 'systemd' || next.nodered?.supervisor === 'systemd';
  if (byUnit && JSON.stringify(running.nodered ?? null) !== JSON.stringify(next.nodered ?? null))
    throw new Refusal('preflight:nodered', "the nodered: section changes while passerelle-nodered.service runs Node-RED (supervisor: systemd), which reads it from the site file at its start: change it on site, then restart passerelle");
}

export interface RemoteGateway {
  readonly agent: RemoteAgent;
  readonly runtime: GatewayRuntime;
  stop(): Promise<void>;
}

const HEAD_CHECK_MS = 60_000;

/**
 * Class, measure and decoding of every point `config` reads (Modbus ones from their profiles), for the
 * role decision: built as the gateway builds them, nothing opened. Words for people (description) and the
 * simulator's settings are not decoding. Undefined when they cannot be built (that config cannot start
 * either: its trial fails).
 */
export function pointClassesOf(config: Config, profiles: ReadonlyMap<string, Profile>): PointClasses | undefined {
  try {
    const profileOf = new Map(config.devices.map((d) => [d.id, d.profile === undefined ? undefined : profiles.get(d.profile)]));
    return new Map(
      buildDrivers(config, profiles, silentLogger()).points.map((p) => {
        const decode = profileOf.get(p.device)?.points.find((x) => x.name === p.point);
        const { description: _d, sim: _s, ...decoding } = decode ?? {};
        return [pointKey(p.device, p.point), { dataClass: p.dataClass, measure: p.measure, decode: decode ? JSON.stringify(decoding) : '' }];
      }),
    );
  } catch {
    return undefined;
  }
}

/** `passerelle run` with a `remote` section: the agent, its channel and the gateway it runs. */
export async function startRemoteGateway(
  localFile: string,
  remote: RemoteConfig,
  gatewayId: string,
  profiles: ReadonlyMap<string, Profile>,
  logger: Logger,
  /** Called after each gateway start (systemd notify: READY, STATUS). */
  onStarted?: (runtime: GatewayRuntime, agent: RemoteAgent) => void,
): Promise<RemoteGateway> {
  const log = logger.child({ part: 'remote' });
  // A pushed config may name any device: its drivers must be there when it is checked and built.
  await loadDriverModules();
  // As `check` does: M-Bus meters and the `profiles:` folders too (relative ones inside the slot, from the bundle).
  const profilesOf = new WeakMap<Config, ReadonlyMap<string, Profile>>();
  const flowsOf = new WeakMap<Config, string>();
  const slots = join(resolve(remote.stateDir), 'slots');
  const parse = (text: string, file: string, files?: Readonly<Record<string, string>>): SiteParse => {
    const root = dirname(file);
    const overlay = files && { root, files: new Map(Object.entries(files).map(([name, t]) => [join(root, name), t])) };
    const { result, profiles: library } = checkSite(text, file, overlay);
    if (!result.ok) return { ok: false, errors: result.errors.map(formatIssue) };
    profilesOf.set(result.config, library);
    // Carried flows: from the bundle being checked, or from the slot a pushed config runs from (never beside the local site file).
    const flows = files ? files[FLOWS_FILE] : file.startsWith(`${slots}/`) ? readIfAny(join(root, FLOWS_FILE)) : undefined;
    if (flows !== undefined) flowsOf.set(result.config, flows);
    return { ok: true, config: result.config, points: pointClassesOf(result.config, library) };
  };
  let agent: RemoteAgent | undefined;
  let answering = false;
  const onError = (what: string) => (e: unknown) => log.error({ err: errorMessage(e) }, what);
  const channel = new ConfigChannel({
    gateway: gatewayId,
    topicPrefix: remote.topicPrefix,
    maxBundleBytes: remote.maxBundleBytes,
    logger: log,
    handlers: {
      bundle: (b) => void agent?.receive(b).catch(onError('bundle handling failed')),
      head: (b) => {
        agent?.receiveHead(b);
        void agent?.publishStatus();
      },
      trust: (b) => {
        void agent?.receiveTrust(b).then((ok) => ok && agent?.publishStatus());
      },
      tooLarge: (n) => agent?.refuseTooLarge(n),
      // One answer at a time: requests arriving meanwhile are dropped (the asker asks again).
      request: (b) => {
        const nonce = readRequest(b);
        if (!nonce || !agent || answering) return;
        answering = true;
        void channel.publishRunning(agent.runningReport(nonce)).catch(onError('running config not sent')).finally(() => (answering = false));
      },
    },
  });
  const runtime = new GatewayRuntime(
    { profiles, logger },
    async (config, previous) => {
      if (agent) onStarted?.(runtime, agent);
      const conn = channelConnection(config);
      if (!previous || uplinkChanges(previous.uplink, config.uplink).length > 0) if (conn) await channel.start(conn);
    },
    { profilesFor: (config) => profilesOf.get(config), flowsFor: (config) => flowsOf.get(config) },
  );
  // Node-RED beside the gateway: what ran before a change must run after it (its flows included).
  runtime.addProbe('nodered', noderedProbe(() => runtime.running?.noderedState()));
  agent = new RemoteAgent({
    gateway: gatewayId,
    stateDir: new StateDir(remote.stateDir),
    localFile,
    trustFile: remote.trustFile,
    runtime,
    parse,
    logger: log,
    maxBytes: remote.maxBundleBytes,
    headMaxAgeMs: remote.headMaxAge,
    report: (s) => channel.publishStatus(s),
  });
  await agent.boot();
  const inbox = join(remote.stateDir, 'inbox');
  mkdirSync(inbox, { recursive: true, mode: 0o700 });
  const watcher: FSWatcher = watch(inbox, () => void agent?.takeInbox().catch(onError('local apply failed')));
  let headState = agent.headState().state;
  const headTimer = setInterval(() => {
    const now = agent?.headState().state;
    if (now && now !== headState) {
      headState = now;
      void agent?.publishStatus();
    }
  }, HEAD_CHECK_MS);
  headTimer.unref();
  return {
    agent,
    runtime,
    async stop() {
      clearInterval(headTimer);
      watcher.close();
      await runtime.stop();
      await channel.stop();
    },
  };
}
