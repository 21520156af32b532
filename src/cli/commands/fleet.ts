/**
 * `passerelle fleet keygen|trust|sign|publish|status`: the operator side of remote configuration
 * (docs/remote-config.md), and `passerelle config apply FILE` on site.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { formatIssue, loadConfigFile, loadConfigText, type Config } from '../../config/index.js';
import { parseDuration } from '../../core/duration.js';
import { FLOWS_FILE, makeBundlePayload, signBundle, signHead, SITE_FILE, textHash } from '../../remote/bundle.js';
import { errorMessage } from '../../core/errors.js';
import { parseEnvelope, signEnvelope, payloadBytes, type Envelope } from '../../remote/dsse.js';
import { FLEET_RECEIVE_MAXIMUM, fetchRunning, publishBundles, readSignedBundle, StatusBoard, summarise } from '../../remote/fleet.js';
import { generateKey, keyidOf, readPrivateKeyFile, spkiOf, writePrivateKeyFile } from '../../remote/keys.js';
import { requiredRole, type PointClasses } from '../../remote/role.js';
import { cfgTopic } from '../../remote/topics.js';
import { signTrust, type TrustPayload } from '../../remote/trust.js';
import { writeAtomic } from '../../remote/atomic-file.js';
import { CliExit } from '../cli-exit.js';

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter(Boolean);
const readPub = (file: string): { keyid: string; spki: string } => {
  const spki = readFileSync(file, 'utf8').trim();
  return { keyid: keyidOf(spki), spki };
};

/** Private keys belong on the signer, never in a repository. */
function insideGitRepo(dir: string): boolean {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

export function keygen(o: { out: string; name: string }): void {
  if (insideGitRepo(o.out)) throw new CliExit(2, `${o.out} is inside a git repository: keep private keys on the signer, outside any repository`);
  mkdirSync(o.out, { recursive: true, mode: 0o700 });
  const k = generateKey();
  writePrivateKeyFile(join(o.out, `${o.name}.key`), k.privateKey);
  writeFileSync(join(o.out, `${o.name}.pub`), `${spkiOf(k.publicKey)}\n`);
  process.stdout.write(`${o.name}: keyid ${k.keyid}\n  private ${join(o.out, `${o.name}.key`)} (0600)\n  public  ${join(o.out, `${o.name}.pub`)}\n`);
}

export interface TrustOpts {
  version: string;
  root: string;
  rootThreshold: string;
  config: string;
  policy: string;
  policyThreshold: string;
  head: string;
  trialMin: string;
  trialMax: string;
  expires: string;
  sign: string;
  out: string;
}

export function trust(o: TrustOpts): void {
  const role = (files: string, threshold: number) => ({ keys: list(files).map(readPub), threshold });
  const roles = { root: role(o.root, Number(o.rootThreshold)), config: role(o.config, 1), policy: role(o.policy, Number(o.policyThreshold)), head: role(o.head, 1) };
  const keys: TrustPayload['keys'] = {};
  for (const r of Object.values(roles)) for (const k of r.keys) keys[k.keyid] = { alg: 'ed25519', spki: k.spki };
  const payload: TrustPayload = {
    version: Number(o.version),
    expires: new Date(Date.now() + parseDuration(o.expires)).toISOString(),
    keys,
    roles: Object.fromEntries(Object.entries(roles).map(([n, r]) => [n, { keyids: r.keys.map((k) => k.keyid), threshold: r.threshold }])) as TrustPayload['roles'],
    trial: { minS: Number(o.trialMin), maxS: Number(o.trialMax) },
  };
  const env = signTrust(payload, list(o.sign).map(readPrivateKeyFile));
  writeFileSync(o.out, `${JSON.stringify(env, null, 2)}\n`);
  process.stdout.write(`trust version ${payload.version} written to ${o.out}, signed by ${env.signatures.length} key(s)\n` +
    `(a version after the first needs a threshold of the previous root keys AND of the new ones)\n`);
}

export interface SignOpts {
  gateway?: string;
  site?: string;
  running?: string;
  status?: string;
  seq?: string;
  base?: string;
  file: string[];
  key: string[];
  expires: string;
  trial: string;
  note?: string;
  addTo?: string;
  out: string;
  /** Ask the gateway for its running config over MQTT (sequence, base and policy diff from its answer). */
  broker?: string;
  ca?: string;
  cert?: string;
  clientKey?: string;
  prefix?: string;
  fetchWait?: string;
}

const parseText = (text: string, file: string): Config => {
  const r = loadConfigText(text, file);
  if (!r.ok) throw new CliExit(1, r.errors.map(formatIssue).join('\n'));
  return r.config;
};

function addSignatures(env: Envelope, keyFiles: string[]): Envelope {
  const added = signEnvelope(env.payloadType, payloadBytes(env), keyFiles.map(readPrivateKeyFile).map((k) => ({ keyid: k.keyid, key: k.privateKey })));
  return { ...env, signatures: [...env.signatures, ...added.signatures] };
}

/** From a saved status (fleet status --json) or the options: next sequence and the base. */
function seqAndBase(o: SignOpts): { seq: number; base: string } {
  if (o.status) {
    const s = JSON.parse(readFileSync(o.status, 'utf8'));
    const used = Math.max(s.running?.seq ?? 0, s.last?.seq ?? 0);
    return { seq: Number(o.seq ?? used + 1), base: o.base ?? s.running.sha256 };
  }
  if (!o.seq || !o.base) throw new CliExit(2, 'give --status FILE (the gateway\'s reported status) or both --seq and --base');
  return { seq: Number(o.seq), base: o.base };
}

/** What the gateway runs: asked over MQTT (--broker), or from --status/--running files and options. */
async function runningOf(o: SignOpts): Promise<{ seq: number; base: string; runningText?: string; runningName: string }> {
  if (!o.broker) return { ...seqAndBase(o), ...(o.running ? { runningText: readFileSync(o.running, 'utf8') } : {}), runningName: o.running ?? '' };
  const client = await brokerClient({ broker: o.broker, ca: o.ca, cert: o.cert, clientKey: o.clientKey, prefix: o.prefix ?? 'pas/v1' });
  try {
    const r = await fetchRunning(client, o.prefix ?? 'pas/v1', o.gateway!, parseDuration(o.fetchWait ?? '10s'));
    process.stdout.write(`${o.gateway} runs ${r.sha256.slice(0, 19)}… (${r.source}${r.seq === null ? '' : ` seq ${r.seq}`}${r.dirty ? ', edited on site' : ''}), last sequence used ${r.lastSeq}\n`);
    return { seq: o.seq ? Number(o.seq) : r.lastSeq + 1, base: o.base ?? r.sha256, runningText: r.site, runningName: `${o.gateway}:running` };
  } finally {
    await client.endAsync();
  }
}

export async function signCmd(o: SignOpts): Promise<void> {
  if (o.addTo) {
    const env = addSignatures(parseEnvelope(readFileSync(o.addTo), 1_048_576), o.key);
    writeFileSync(o.out, JSON.stringify(env));
    process.stdout.write(`${o.out}: now ${env.signatures.length} signature(s)\n`);
    return;
  }
  if (!o.gateway || !o.site) throw new CliExit(2, 'give --gateway and --site (or --add-to ENVELOPE)');
  const text = readFileSync(o.site, 'utf8');
  const next = await checkedSite(o.site);
  const { seq, base, runningText, runningName } = await runningOf(o);
  const files = bundleFiles(o.site, text, next.config, o.file);
  const now = Date.now();
  let payload: ReturnType<typeof makeBundlePayload>;
  try {
    payload = makeBundlePayload({
      gateway: o.gateway, seq, base, files, issuedAt: new Date(now), expires: new Date(now + parseDuration(o.expires)),
      trialS: Math.round(parseDuration(o.trial) / 1000), ...(o.note ? { note: o.note } : {}),
    });
  } catch (e) {
    throw new CliExit(2, `${errorMessage(e)} (the gateway would refuse it)`);
  }
  const env = signBundle(payload, o.key.map(readPrivateKeyFile));
  writeFileSync(o.out, JSON.stringify(env));
  process.stdout.write(`${o.out}: ${o.gateway} seq ${seq}, base ${base.slice(0, 19)}…\n`);
  for (const [name, t] of Object.entries(files)) process.stdout.write(`  file ${name} (${Buffer.byteLength(t)} bytes)\n`);
  if (next.config.nodered?.enabled && !(FLOWS_FILE in files))
    process.stdout.write(`  no ${FLOWS_FILE} carried: the gateway runs its own flows (those from before any push); --file to carry flows\n`);
  if (runningText !== undefined) {
    if (base !== 'any' && textHash(runningText) !== base)
      process.stdout.write(`  warning: ${runningName} is not what the gateway runs (edited on site?): it will refuse with base-mismatch\n`);
    // The classes of the points (profiles resolved) when the running file is on disk with its profiles; else the gateway alone compares them.
    const running = o.running && !o.broker ? await checkedSite(o.running).catch(() => undefined) : undefined;
    const role = requiredRole(running?.config ?? parseText(runningText, runningName), next.config, base, { old: running?.points, next: next.points });
    if (!running?.points) process.stdout.write('  (point classes not compared here: the gateway also refuses a profile that lets a point leave that did not before)\n');
    if (role.role === 'policy') {
      process.stdout.write(`  needs the policy role (threshold in the trust file, 2 by default):\n${role.reasons.map((r) => `    ${r}\n`).join('')}`);
      if (o.key.length < 2) process.stdout.write(`  a second policy signer must add theirs: passerelle fleet sign --add-to ${o.out} --key SECOND.key --out ${o.out}\n`);
    } else process.stdout.write('  config role is enough (no data-policy widening, no uplink change)\n');
  } else if (base === 'any') process.stdout.write('  base: any is a forced overwrite: it needs the policy role\n');
}

/** The site file checked as `passerelle check` does, with its points' classes (profiles resolved). */
async function checkedSite(file: string): Promise<{ config: Config; points?: PointClasses }> {
  const { checkSite } = await import('../../gateway/load-site.js');
  const { pointClassesOf } = await import('../../gateway/remote.js');
  await (await import('../../gateway/driver-modules.js')).loadDriverModules();
  const { result, profiles } = checkSite(readFileSync(file, 'utf8'), file);
  if (!result.ok) throw new CliExit(1, result.errors.map(formatIssue).join('\n'));
  const points = pointClassesOf(result.config, profiles);
  return { config: result.config, ...(points ? { points } : {}) };
}

/**
 * The files a bundle carries, by name relative to the site file's folder: `site.yaml`, every *.yaml of
 * the site's relative `profiles:` folders (collected: what the gateway reads in its slot), and each
 * `--file` (e.g. nodered/flows.json), which must lie inside that folder. Absolute `profiles:` folders are
 * the gateway's own and are not carried.
 */
export function bundleFiles(siteFile: string, siteText: string, config: Config, extra: readonly string[]): Record<string, string> {
  const root = dirname(resolve(siteFile));
  const files: Record<string, string> = { [SITE_FILE]: siteText };
  const add = (path: string) => {
    const name = relative(root, resolve(path)).split(sep).join('/');
    if (name.startsWith('../') || isAbsolute(name)) throw new CliExit(2, `${path} is not inside ${root}: a bundle carries files by their place under the site file's folder`);
    files[name] = readFileSync(path, 'utf8');
  };
  for (const dir of config.profiles) {
    if (isAbsolute(dir)) continue;
    const abs = resolve(root, dir);
    for (const n of readdirSync(abs).filter((f) => /\.ya?ml$/.test(f)).sort()) add(join(abs, n));
  }
  for (const f of extra) add(resolve(f));
  return files;
}

export interface BrokerOpts {
  broker: string;
  ca?: string;
  cert?: string;
  clientKey?: string;
  prefix: string;
}

async function brokerClient(o: BrokerOpts): Promise<MqttClient> {
  const client = connect(o.broker, {
    protocolVersion: 5,
    clientId: `passerelle-fleet-${process.pid}`,
    ...(o.ca && { ca: readFileSync(o.ca) }),
    ...(o.cert && { cert: readFileSync(o.cert) }),
    ...(o.clientKey && { key: readFileSync(o.clientKey) }),
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    properties: { receiveMaximum: FLEET_RECEIVE_MAXIMUM },
  });
  await new Promise<void>((res, rej) => {
    client.once('connect', () => res());
    client.once('error', rej);
  });
  return client;
}

export async function publishCmd(files: string[], o: BrokerOpts & { canary: string; batches: string; abortIf: string; wait: string; head?: string }): Promise<void> {
  const bundles = files.map((f) => readSignedBundle(readFileSync(f)));
  const client = await brokerClient(o);
  try {
    const board = new StatusBoard(client, o.prefix);
    await board.start();
    if (o.head) {
      const headKey = readPrivateKeyFile(o.head);
      for (const b of bundles) {
        const now = Date.now();
        const head = signHead({ gateway: b.bundle.gateway, seq: b.bundle.seq, envelopeSha256: `sha256:${b.sha256}`, issuedAt: new Date(now).toISOString(), expires: new Date(now + 26 * 3_600_000).toISOString() }, [headKey]);
        await client.publishAsync(cfgTopic(o.prefix, b.bundle.gateway, 'head'), JSON.stringify(head), { qos: 1, retain: true, properties: { messageExpiryInterval: 26 * 3600 } });
      }
    }
    const report = await publishBundles(client, board, bundles, {
      prefix: o.prefix,
      canary: Number(o.canary),
      fractions: list(o.batches).map((p) => Number(p.replace('%', '')) / 100),
      abortRatio: Number(o.abortIf.replace('%', '')) / 100,
      batchTimeoutMs: parseDuration(o.wait),
      onBatch: (r) => {
        const counts: Record<string, number> = {};
        for (const v of Object.values(r.outcomes)) counts[v] = (counts[v] ?? 0) + 1;
        process.stdout.write(`batch ${r.batch}: ${r.gateways.length} gateway(s) ${JSON.stringify(counts)} failed so far ${(r.failedRatio * 100).toFixed(1)}%\n`);
      },
    });
    if (report.aborted) throw new CliExit(1, `stopped after batch ${report.batches.length}: failures above ${o.abortIf}; ${bundles.length - report.published} bundle(s) not published`);
  } finally {
    await client.endAsync();
  }
}

export async function statusCmd(o: BrokerOpts & { json: boolean; wait: string }): Promise<void> {
  const client = await brokerClient(o);
  try {
    const board = new StatusBoard(client, o.prefix);
    await board.start();
    await new Promise((r) => setTimeout(r, parseDuration(o.wait)));
    const s = summarise(board.statuses);
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ summary: s, gateways: Object.fromEntries(board.statuses) })}\n`);
      return;
    }
    process.stdout.write(`${s.gateways} gateway(s): ${s.converged} converged, ${s.trial} in trial, ${s.offline.length} offline, ${s.dirty.length} dirty\n`);
    for (const [r, n] of Object.entries(s.refused)) process.stdout.write(`  refused ${r}: ${n}\n`);
    for (const [r, n] of Object.entries(s.rolledBack)) process.stdout.write(`  rolled back ${r}: ${n}\n`);
    if (s.dirty.length) process.stdout.write(`  dirty (edited on site): ${s.dirty.join(', ')}\n`);
    if (s.offline.length) process.stdout.write(`  offline: ${s.offline.join(', ')}\n`);
    if (s.staleHead.length) process.stdout.write(`  stale head (update withheld?): ${s.staleHead.join(', ')}\n`);
    if (s.maxHeadAgeS !== null) process.stdout.write(`  oldest head: ${s.maxHeadAgeS} s\n`);
  } finally {
    await client.endAsync();
  }
}

/** `passerelle config apply FILE --config SITE`: checked here, then staged and tried by the running gateway. */
export async function configApply(file: string, o: { config: string; wait: string }): Promise<void> {
  const site = await loadConfigFile(o.config);
  if (!site.ok) throw new CliExit(1, site.errors.map(formatIssue).join('\n'));
  const remote = site.config.remote;
  if (!remote) throw new CliExit(2, `${o.config} has no remote section: edit it and restart the gateway instead`);
  const next = await loadConfigFile(file);
  if (!next.ok) throw new CliExit(1, next.errors.map(formatIssue).join('\n'));
  const stateFile = join(remote.stateDir, 'state.json');
  const before = existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : '';
  mkdirSync(join(remote.stateDir, 'inbox'), { recursive: true, mode: 0o700 });
  writeAtomic(join(remote.stateDir, 'inbox', 'local.yaml'), readFileSync(file, 'utf8'));
  process.stdout.write(`${file} handed to the gateway: verify, stage, trial (it rolls back by itself if the trial fails)\n`);
  const deadline = Date.now() + parseDuration(o.wait);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = existsSync(stateFile) ? readFileSync(stateFile, 'utf8') : '';
    if (now === before) continue;
    const last = JSON.parse(now).last;
    if (last && last.outcome !== 'accepted') {
      process.stdout.write(`${last.outcome}${last.reason ? ` (${last.reason}: ${last.detail})` : ''}\n`);
      if (last.outcome !== 'applied') throw new CliExit(1, '');
      return;
    }
  }
  process.stdout.write('no outcome yet: is the gateway running? it takes the file at its next start\n');
}

