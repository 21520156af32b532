/**
 * `npm run bench -- fleet [--gateways N]`: N simulated gateways (default 1000) in one process, each the
 * real remote-config code (ConfigChannel over MQTT.js 5, RemoteAgent: DSSE verify, role, state file with
 * fsyncs, slots, trial) with a scripted runtime, on a loopback Mosquitto. The fleet side signs one bundle
 * per gateway and publishes them all (retained, QoS 1) as `passerelle fleet publish` does.
 *
 * Injected: 3 % failing trials (-> rolled-back), 2 % edited on site (-> refused base-mismatch), 1 %
 * schema-invalid, 1 % replayed sequence, 1 % bundle for another gateway. wrongOutcomes counts gateways
 * whose terminal status differs from the injected one; mixedConfigs counts gateways whose state file,
 * slot and running config disagree. Mosquitto runs without TLS or ACL here (anonymous clients have no
 * CN for %u); the threat tests cover those.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { formatIssue, loadConfigText, type Config } from '../src/config/index.js';
import { silentLogger } from '../src/core/logger.js';
import { RemoteAgent } from '../src/remote/agent.js';
import { makeBundlePayload, signBundle, textHash } from '../src/remote/bundle.js';
import { ConfigChannel } from '../src/remote/channel.js';
import { FLEET_RECEIVE_MAXIMUM, publishBundles, readSignedBundle, StatusBoard } from '../src/remote/fleet.js';
import type { ProbeResult, RemoteRuntime } from '../src/remote/runtime.js';
import { initialState, StateDir } from '../src/remote/state.js';
import { startMosquitto } from '../tests/helpers/brokers.js';
import { newKeyring, siteText, trustFile } from '../tests/remote/fixtures.js';
import { printResult, printTable, round3 } from './lib/report.js';

type Expected = 'applied' | 'rolled-back' | 'refused:base-mismatch' | 'refused:schema' | 'refused:seq' | 'refused:wrong-gateway';

class SimRuntime implements RemoteRuntime {
  ran?: Config;
  constructor(private readonly failTrial: boolean) {}
  async run(config: Config): Promise<void> {
    this.ran = config;
  }
  baseline(): unknown {
    return undefined;
  }
  async probe(): Promise<ProbeResult> {
    return this.failTrial ? { ok: false, reason: 'probe:bus:lan', detail: 'injected' } : { ok: true };
  }
  async preflight(): Promise<void> {}
}

const parse = (text: string, file: string) => {
  const r = loadConfigText(text, file);
  return r.ok ? r : { ok: false as const, errors: r.errors.map(formatIssue) };
};

/** Deterministic injection: gateway i gets the outcome of its slot in a 100-wide table. */
function expectedFor(i: number): Expected {
  const k = i % 100;
  if (k < 3) return 'rolled-back';
  if (k < 5) return 'refused:base-mismatch';
  if (k < 6) return 'refused:schema';
  if (k < 7) return 'refused:seq';
  if (k < 8) return 'refused:wrong-gateway';
  return 'applied';
}

const percentile = (values: number[], p: number): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0;
};

export async function run(args: string[]): Promise<void> {
  const n = Number(args[args.indexOf('--gateways') + 1]) || 1000;
  const root = mkdtempSync(join(tmpdir(), 'passerelle-fleet-bench-'));
  const broker = await startMosquitto();
  const keys = newKeyring();
  const trustPath = join(root, 'trust.dsse.json');
  writeFileSync(trustPath, trustFile(keys, 1, { minS: 1, maxS: 60 }));
  const ids = Array.from({ length: n }, (_, i) => `gw-${String(i + 1).padStart(4, '0')}`);
  const gateways: { id: string; agent: RemoteAgent; channel: ConfigChannel; runtime: SimRuntime; dir: string; expected: Expected; local: string; next: string }[] = [];

  const reportErrors: string[] = [];
  /** When each gateway's client got its bundle: apply time runs from there to the status at the fleet. */
  const receivedAt = new Map<string, number>();
  const t0 = performance.now();
  for (const [i, id] of ids.entries()) {
    const dir = join(root, id);
    const expected = expectedFor(i);
    const local = siteText({ gateway: id, storeDir: dir });
    const next = siteText({ gateway: id, storeDir: dir, window: expected === 'refused:schema' ? '7m' : '10m' });
    const stateDir = new StateDir(join(dir, 'cfg'));
    writeFileSync(join(dir, 'site.yaml'), local);
    if (expected === 'refused:seq') await stateDir.write({ ...initialState(), lastSeq: 5, localSha256: textHash(local) });
    const runtime = new SimRuntime(expected === 'rolled-back');
    let agent: RemoteAgent | undefined;
    const channel = new ConfigChannel({
      gateway: id,
      topicPrefix: 'pas/v1',
      maxBundleBytes: 262_144,
      logger: silentLogger(),
      handlers: { bundle: (b) => { receivedAt.set(id, performance.now()); void agent?.receive(b); }, head: () => undefined, trust: () => undefined, tooLarge: (b) => agent?.refuseTooLarge(b) },
    });
    agent = new RemoteAgent({
      gateway: id, stateDir, localFile: join(dir, 'site.yaml'), trustFile: trustPath, runtime, parse, logger: silentLogger(),
      maxBytes: 262_144, headMaxAgeMs: 93_600_000, report: (s) => channel.publishStatus(s, 60_000).catch((e: Error) => { reportErrors.push(`${id} ${s.last?.outcome ?? 'boot'}: ${e.message}`); throw e; }),
    });
    gateways.push({ id, agent, channel, runtime, dir, expected, local, next });
  }
  // Connect ramped (100 per tick) so the broker is not hit by 1000 TLS-less handshakes at once.
  for (let i = 0; i < gateways.length; i += 100) {
    await Promise.all(gateways.slice(i, i + 100).map(async (g) => {
      await g.channel.start({ url: broker.url });
      await g.agent.boot();
      if (g.expected === 'refused:base-mismatch') writeFileSync(join(g.dir, 'site.yaml'), `${g.local}# edited on site\n`);
    }));
  }
  const bootS = (performance.now() - t0) / 1000;

  const fleet = connect(broker.url, { protocolVersion: 5, clientId: 'fleet-bench', reconnectPeriod: 0, properties: { receiveMaximum: FLEET_RECEIVE_MAXIMUM } });
  await new Promise<void>((r) => fleet.once('connect', () => r()));
  const board = new StatusBoard(fleet, 'pas/v1');
  await board.start();
  const signedAt = performance.now();
  const bundles = gateways.map((g, i) => {
    const target = g.expected === 'refused:wrong-gateway' ? ids[(i + 1) % n]! : g.id;
    const now = Date.now();
    const payload = makeBundlePayload({
      gateway: target, seq: g.expected === 'refused:seq' ? 3 : 1, issuedAt: new Date(now - 1000), expires: new Date(now + 3_600_000),
      base: textHash(g.local), files: { 'site.yaml': g.next }, trialS: 1,
    });
    return readSignedBundle(Buffer.from(JSON.stringify(signBundle(payload, keys.config))));
  });
  const signS = (performance.now() - signedAt) / 1000;
  // Wrong-gateway bundles go to the topic of the gateway they are published for, as a stolen fleet credential would.
  const routed = bundles.map((b, i) => (gateways[i]!.expected === 'refused:wrong-gateway' ? { ...b, bundle: { ...b.bundle, gateway: gateways[i]!.id } } : b));
  const t1 = performance.now();
  const report = await publishBundles(fleet, board, routed, { prefix: 'pas/v1', canary: 0, fractions: [1], abortRatio: 1, batchTimeoutMs: 0 });
  const lastPublish = performance.now();
  // Per gateway: when the fleet saw its terminal status.
  const terminalAt = new Map<string, number>();
  const watch = setInterval(() => {
    for (const g of gateways) if (!terminalAt.has(g.id) && board.outcome(g.id, routed[gateways.indexOf(g)]!.sha256)) terminalAt.set(g.id, performance.now());
  }, 5);
  await board.until(() => gateways.every((g, i) => board.outcome(g.id, routed[i]!.sha256)), Date.now() + 60_000);
  clearInterval(watch);
  for (const [i, g] of gateways.entries()) if (!terminalAt.has(g.id) && board.outcome(g.id, routed[i]!.sha256)) terminalAt.set(g.id, performance.now());
  const converged = performance.now();

  let wrong = 0;
  let mixed = 0;
  let terminal = 0;
  const counts: Record<string, number> = {};
  for (const [i, g] of gateways.entries()) {
    const s = board.statuses.get(g.id);
    const last = s && 'last' in s ? s.last : null;
    const got = last ? (last.outcome === 'refused' ? `refused:${last.reason}` : last.outcome) : 'none';
    if (board.outcome(g.id, routed[i]!.sha256)) terminal += 1;
    counts[got] = (counts[got] ?? 0) + 1;
    if (got !== g.expected) wrong += 1;
    // Never a mix: state file, slot content and the config the runtime runs tell the same story.
    const state = JSON.parse(readFileSync(join(g.dir, 'cfg', 'state.json'), 'utf8'));
    const runningText = state.committed ? readFileSync(join(g.dir, 'cfg', 'slots', state.committed.slot, 'site.yaml'), 'utf8') : null;
    const shaOk = state.committed ? textHash(runningText!) === state.committed.sha256 : true;
    const windowOk = g.runtime.ran?.aggregation.window === (state.committed ? 600_000 : 300_000);
    if (!shaOk || !windowOk || state.trial !== null || (g.expected === 'applied') !== Boolean(state.committed)) mixed += 1;
  }
  const applyS = gateways.map((g) => ((terminalAt.get(g.id) ?? converged) - (receivedAt.get(g.id) ?? t1)) / 1000);

  await Promise.all(gateways.map((g) => g.channel.stop()));
  await fleet.endAsync();
  await broker.close();
  rmSync(root, { recursive: true, force: true });

  printTable(Object.entries(counts).map(([outcome, count]) => ({ outcome, count, injected: gateways.filter((g) => g.expected === outcome).length })));
  printTable([{ gateways: n, terminal, bootS: round3(bootS), signS: round3(signS), publishS: round3((lastPublish - t1) / 1000), convergedAfterLastPublishS: round3(Math.max(0, (converged - lastPublish) / 1000)), p95ApplyS: round3(percentile(applyS, 95)), rssMiB: Math.round(process.memoryUsage().rss / 1048576) }]);
  void report;
  if (reportErrors.length) process.stdout.write(`${reportErrors.length} status publishes failed, e.g. ${reportErrors.slice(0, 3).join(' | ')}\n`);
  printResult('fleet', {
    gateways: n,
    terminal,
    convergedS: round3(Math.max(0, (converged - lastPublish) / 1000)),
    p95ApplyS: round3(percentile(applyS, 95)),
    wrongOutcomes: wrong,
    mixedConfigs: mixed,
  });
}
