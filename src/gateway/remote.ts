/**
 * The gateway under remote configuration: the agent (src/remote) decides which config runs; this file
 * is the narrow hook it is given (RemoteRuntime). A changed config restarts the Gateway as a whole (stop
 * in order, start with the new config): the store and outbox are on disk, so nothing acknowledged is lost.
 */
import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { formatIssue, loadConfigText, type Config, type RemoteConfig } from '../config/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Profile } from '../profiles/schema.js';
import type { BusStats } from '../bus/modbus-bus.js';
import { RemoteAgent } from '../remote/agent.js';
import { ConfigChannel, tryConnect, type ChannelConnection } from '../remote/channel.js';
import { Refusal } from '../remote/refusal.js';
import { uplinkChanges } from '../remote/role.js';
import type { ProbeResult, RemoteRuntime } from '../remote/runtime.js';
import { StateDir } from '../remote/state.js';
import { Gateway, type GatewayOptions } from './gateway.js';
import { knownProfiles } from './load-site.js';
import { readUplinkSecrets } from './uplink-options.js';

const PROBE_TICK_MS = 200;

/** Buses where some device answered (a reply or an exception; in-flight requests and timeouts do not count). */
function answeringBuses(gateway: Gateway | undefined): Set<string> {
  const buses = (gateway?.stats().buses ?? {}) as Record<string, BusStats>;
  const answers = (s: BusStats) =>
    Object.values(s.units).reduce((n, u) => n + u.ok + Object.values(u.exceptions).reduce((a, b) => a + b, 0), 0);
  return new Set(Object.entries(buses).filter(([, s]) => answers(s) > 0).map(([id]) => id));
}

export const channelConnection = (config: Config): ChannelConnection | undefined => {
  if (!config.uplink.broker) return undefined;
  const s = readUplinkSecrets(config.uplink);
  return { url: config.uplink.broker, ...s };
};

export class GatewayRuntime implements RemoteRuntime {
  private gateway?: Gateway;
  private current?: Config;

  constructor(
    private readonly base: Omit<GatewayOptions, 'config'>,
    /** Called after each (re)start, e.g. to move the config channel to a new broker. */
    private readonly onRun?: (config: Config, previous: Config | undefined) => Promise<void>,
  ) {}

  get running(): Gateway | undefined {
    return this.gateway;
  }

  async run(config: Config): Promise<void> {
    if (this.current && JSON.stringify(this.current) === JSON.stringify(config)) return;
    const previous = this.current;
    // Detached first: a gateway that is stopping is not the one running (systemd's watchdog then
    // counts a restart, not a stall).
    const stopping = this.gateway;
    this.gateway = undefined;
    await stopping?.stop();
    const gateway = new Gateway({ ...this.base, config });
    this.current = config;
    await gateway.start();
    this.gateway = gateway;
    await this.onRun?.(config, previous);
  }

  baseline(): unknown {
    return answeringBuses(this.gateway);
  }

  /** Every bus that answered before answers again; the store takes writes. The broker is probed by the agent (status PUBACK). */
  async probe(baseline: unknown, deadline: number): Promise<ProbeResult> {
    const expected = [...(baseline as Set<string>)].filter((id) => this.current?.buses.some((b) => b.id === id));
    for (;;) {
      const answering = answeringBuses(this.gateway);
      const missing = expected.filter((id) => !answering.has(id));
      const storeFault = this.gateway?.stats().storeFault as string | undefined;
      if (storeFault) return { ok: false, reason: 'probe:store', detail: String(storeFault) };
      if (missing.length === 0) return { ok: true };
      if (Date.now() >= deadline) return { ok: false, reason: `probe:bus:${missing[0]}`, detail: `no answer on ${missing.join(', ')} during the trial (they answered before)` };
      await new Promise((r) => setTimeout(r, PROBE_TICK_MS));
    }
  }

  async preflight(next: Config, running: Config): Promise<void> {
    if (uplinkChanges(running.uplink, next.uplink).length === 0) return;
    try {
      const conn = channelConnection(next);
      if (conn) await tryConnect(conn, `passerelle-preflight-${next.gateway.id}`);
    } catch (e) {
      throw new Refusal('preflight:broker', `new uplink settings do not connect: ${errorMessage(e)}`);
    }
  }

  async stop(): Promise<void> {
    await this.gateway?.stop();
    this.gateway = undefined;
  }
}

export interface RemoteGateway {
  readonly agent: RemoteAgent;
  readonly runtime: GatewayRuntime;
  stop(): Promise<void>;
}

const HEAD_CHECK_MS = 60_000;

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
  const known = knownProfiles(profiles);
  const parse = (text: string, file: string) => {
    const r = loadConfigText(text, file, { knownProfiles: known });
    return r.ok ? r : { ok: false as const, errors: r.errors.map(formatIssue) };
  };
  let agent: RemoteAgent | undefined;
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
    },
  });
  const runtime = new GatewayRuntime({ profiles, logger }, async (config, previous) => {
    if (agent) onStarted?.(runtime, agent);
    const conn = channelConnection(config);
    if (!previous || uplinkChanges(previous.uplink, config.uplink).length > 0) if (conn) await channel.start(conn);
  });
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
