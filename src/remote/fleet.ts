/**
 * The operator side: publish signed bundles in batches (a canary, then growing batches, stopping when
 * refusals or rollbacks pass a threshold) and summarise the gateways' retained statuses. The fleet
 * service holds no signing key: it only moves envelopes that operators signed offline.
 */
import type { MqttClient } from 'mqtt';
import { parseEnvelope, sha256Hex } from './dsse.js';
import { readBundle, type BundlePayload } from './bundle.js';
import type { RemoteStatus } from './status.js';
import { randomBytes } from 'node:crypto';
import { checkReport, type RunningReport } from './running.js';
import { cfgTopic } from './topics.js';

/**
 * The fleet client's MQTT 5 Receive Maximum: statuses of a whole fleet arrive at once (retained, then
 * accepted/applied), and Mosquitto queues only max_queued_messages (1000 by default) beyond the in-flight
 * window before it drops: a wide window lets them all through.
 */
export const FLEET_RECEIVE_MAXIMUM = 65_535;

export interface SignedBundle {
  readonly bytes: Buffer;
  readonly bundle: BundlePayload;
  readonly sha256: string;
}

export function readSignedBundle(bytes: Buffer): SignedBundle {
  return { bytes, bundle: readBundle(parseEnvelope(bytes, 1_048_576)), sha256: sha256Hex(bytes) };
}

/** Batch sizes: `canary` first, then each fraction of the whole (cumulative), e.g. [0.1, 0.5, 1]. */
export function batchSizes(total: number, canary: number, fractions: readonly number[]): number[] {
  const sizes: number[] = [];
  let done = 0;
  const take = (upTo: number) => {
    const n = Math.min(total, Math.max(upTo, done)) - done;
    if (n > 0) sizes.push(n);
    done += Math.max(0, n);
  };
  take(canary);
  for (const f of fractions) take(Math.ceil(total * f));
  take(total);
  return sizes;
}

export type Terminal = 'applied' | 'refused' | 'rolled-back';

/** Collects the retained statuses of all gateways under `prefix`. */
export class StatusBoard {
  readonly statuses = new Map<string, RemoteStatus | { gateway: string; state: 'offline' }>();
  private waiters: (() => void)[] = [];

  constructor(
    private readonly client: MqttClient,
    private readonly prefix: string,
  ) {
    client.on('message', (topic, payload) => {
      const m = /\/gw\/([^/]+)\/cfg\/status$/.exec(topic);
      if (!m) return;
      try {
        this.statuses.set(m[1]!, JSON.parse(payload.toString('utf8')));
      } catch {
        return;
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async start(): Promise<void> {
    await this.client.subscribeAsync(cfgTopic(this.prefix, '+', 'status'), { qos: 1 });
  }

  /** The outcome of one envelope (by its SHA-256) on `gateway`, once terminal. */
  outcome(gateway: string, envelopeSha256: string): Terminal | undefined {
    const s = this.statuses.get(gateway);
    if (!s || !('last' in s) || !s.last || s.last.envelope !== envelopeSha256 || s.last.outcome === 'accepted') return undefined;
    return s.last.outcome;
  }

  /** Resolves when `done()` holds or at `deadline`. */
  async until(done: () => boolean, deadline: number): Promise<boolean> {
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }
}

export interface PublishOptions {
  readonly prefix: string;
  readonly canary: number;
  readonly fractions: readonly number[];
  /** Stop after a batch when (refused + rolled back) / handled exceeds this (0..1). */
  readonly abortRatio: number;
  /** How long to wait for each batch to reach terminal outcomes. */
  readonly batchTimeoutMs: number;
  readonly onBatch?: (report: BatchReport) => void;
}

export interface BatchReport {
  batch: number;
  gateways: string[];
  outcomes: Record<string, Terminal | 'pending'>;
  failedRatio: number;
}

export interface PublishReport {
  published: number;
  batches: BatchReport[];
  aborted: boolean;
}

/** Publishes retained, QoS 1, message expiry = the bundle's own expiry, batch after batch. */
export async function publishBundles(client: MqttClient, board: StatusBoard, bundles: readonly SignedBundle[], o: PublishOptions): Promise<PublishReport> {
  const report: PublishReport = { published: 0, batches: [], aborted: false };
  let next = 0;
  let failed = 0;
  let handled = 0;
  for (const [i, size] of batchSizes(bundles.length, o.canary, o.fractions).entries()) {
    const batch = bundles.slice(next, next + size);
    next += size;
    await Promise.all(
      batch.map(({ bytes, bundle }) => {
        const expiryS = Math.max(1, Math.floor((Date.parse(bundle.expires) - Date.now()) / 1000));
        return client.publishAsync(cfgTopic(o.prefix, bundle.gateway, 'desired'), bytes, { qos: 1, retain: true, properties: { messageExpiryInterval: expiryS } });
      }),
    );
    report.published += batch.length;
    await board.until(() => batch.every((b) => board.outcome(b.bundle.gateway, b.sha256)), Date.now() + o.batchTimeoutMs);
    const outcomes = Object.fromEntries(batch.map((b) => [b.bundle.gateway, board.outcome(b.bundle.gateway, b.sha256) ?? 'pending'])) as BatchReport['outcomes'];
    const values = Object.values(outcomes);
    failed += values.filter((v) => v === 'refused' || v === 'rolled-back' || v === 'pending').length;
    handled += values.length;
    const r: BatchReport = { batch: i + 1, gateways: batch.map((b) => b.bundle.gateway), outcomes, failedRatio: failed / handled };
    report.batches.push(r);
    o.onBatch?.(r);
    if (next < bundles.length && r.failedRatio > o.abortRatio) {
      report.aborted = true;
      break;
    }
  }
  return report;
}

export interface FleetSummary {
  gateways: number;
  converged: number;
  trial: number;
  refused: Record<string, number>;
  rolledBack: Record<string, number>;
  dirty: string[];
  offline: string[];
  staleHead: string[];
  maxHeadAgeS: number | null;
}

export function summarise(statuses: ReadonlyMap<string, RemoteStatus | { gateway: string; state: 'offline' }>): FleetSummary {
  const s: FleetSummary = { gateways: statuses.size, converged: 0, trial: 0, refused: {}, rolledBack: {}, dirty: [], offline: [], staleHead: [], maxHeadAgeS: null };
  for (const [gw, st] of statuses) {
    if (st.state === 'offline' || !('running' in st)) {
      s.offline.push(gw);
      continue;
    }
    if (st.state === 'trial') s.trial += 1;
    if (st.running.dirty) s.dirty.push(gw);
    if (st.head.state === 'stale-head') s.staleHead.push(gw);
    if (st.head.ageS !== undefined) s.maxHeadAgeS = Math.max(s.maxHeadAgeS ?? 0, st.head.ageS);
    const last = st.last;
    if (last?.outcome === 'refused') s.refused[last.reason ?? '?'] = (s.refused[last.reason ?? '?'] ?? 0) + 1;
    else if (last?.outcome === 'rolled-back') s.rolledBack[last.reason ?? '?'] = (s.rolledBack[last.reason ?? '?'] ?? 0) + 1;
    else if (st.state === 'idle' && st.head.state !== 'behind' && !st.running.dirty) s.converged += 1;
  }
  return s;
}

/**
 * Asks `gateway` for the config it runs (`…/cfg/req`, a fresh nonce) and waits for the answer on
 * `…/cfg/running`; the site text is checked against the hash the gateway gives.
 */
export async function fetchRunning(client: MqttClient, prefix: string, gateway: string, timeoutMs: number): Promise<RunningReport> {
  const nonce = randomBytes(12).toString('base64url');
  const topic = cfgTopic(prefix, gateway, 'running');
  let onMessage: (t: string, p: Buffer) => void = () => undefined;
  const answer = new Promise<RunningReport>((resolve) => {
    onMessage = (t, p) => {
      if (t !== topic) return;
      try {
        const r = JSON.parse(p.toString('utf8')) as RunningReport;
        if (r.nonce === nonce && r.gateway === gateway) resolve(r);
      } catch {
        // not an answer
      }
    };
    client.on('message', onMessage);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(cfgTopic(prefix, gateway, 'req'), JSON.stringify({ nonce }), { qos: 1 });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${gateway} did not send its running config within ${Math.round(timeoutMs / 1000)} s (offline?)`)), timeoutMs);
    });
    return checkReport(await Promise.race([answer, timeout]));
  } finally {
    clearTimeout(timer);
    client.off('message', onMessage);
    await client.unsubscribeAsync(topic).catch(() => undefined);
  }
}
