/**
 * Threat tests over the real path: a Mosquitto broker with TLS, client certificates (CN = username)
 * and deploy/mosquitto-acl.example; a real gateway (store, Modbus TCP simulator, uplink) under the
 * remote agent; the fleet side publishes retained bundles as `passerelle fleet publish` does.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { startRemoteGateway, type RemoteGateway } from '../../src/gateway/remote.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { textHash } from '../../src/remote/bundle.js';
import { fetchRunning, readSignedBundle } from '../../src/remote/fleet.js';
import { writePrivateKeyFile } from '../../src/remote/keys.js';
import { signCmd } from '../../src/cli/commands/fleet.js';
import type { RemoteStatus } from '../../src/remote/status.js';
import { cfgTopic } from '../../src/remote/topics.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { startModbusRtuSimulator, type ModbusRtuSimulator } from '../../src/sim/modbus-rtu.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { freePort, startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { connectFleet, leafCert, publishAndWait as publishAndWaitFor } from './fleet-client.js';
import { bundleBytes, bundleInput, newKeyring, trustFile, type Keyring } from './fixtures.js';

const ACL = readFileSync(new URL('../../deploy/mosquitto-acl.example', import.meta.url), 'utf8');
const GW = 'gw-0001';

let pki: TestPki;
let broker: MosquittoBroker;
let sim: ModbusTcpSimulator;
let gw: RemoteGateway;
let fleet: MqttClient;
let keys: Keyring;
let dir: string;
let localFile: string;
let simPort: number;
let line: PtyPair;
let rtu: ModbusRtuSimulator;
let deadLine: PtyPair;
const statuses: RemoteStatus[] = [];

function site(o: { window?: string; busPort?: number; serialPort?: string; allow?: string; broker?: string; alias?: string } = {}): string {
  return `site:
  id: test-site
  name: Test site
  clock:
    trust: always
gateway:
  id: ${GW}
buses:
  - id: lan
    type: tcp
    host: 127.0.0.1
    port: ${o.busPort ?? simPort}
    timeout: 500ms
    retries: 0
  - id: rs485
    type: serial
    port: ${o.serialPort ?? line.a}
    timeout: 500ms
    retries: 0
devices:
  - id: meter
    bus: lan
    unit: 1
    profile: eastron-sdm630
    poll: 1s
  - id: submeter
    bus: rs485
    unit: 2
    profile: eastron-sdm630
    points: [voltage_l1]
    poll: 1s
aggregation:
  window: ${o.window ?? '5m'}
store:
  path: ${dir}/store.db
  keyFile: ${dir}/store.key
uplink:
  broker: ${o.broker ?? broker.url}
  caFile: ${pki.caFile}
  certFile: ${pki.clientCertFile}
  keyFile: ${pki.clientKeyFile}
policy:
  allow:
${o.allow ?? '    - match: "meter.*"\n      statistics: [mean]'}
remote:
  stateDir: ${dir}/cfg
  trustFile: ${dir}/trust.dsse.json
${o.alias ?? ''}`;
}

const state = () => JSON.parse(readFileSync(join(dir, 'cfg', 'state.json'), 'utf8'));
let seq = 0;

/** Publishes retained on the gateway's desired topic (message expiry = bundle expiry) and waits for the next status with a new `last`. */
const publishAndWait = (bytes: Buffer | string, topicGw = GW, timeoutMs = 30_000) => publishAndWaitFor(fleet, statuses, topicGw, bytes, timeoutMs);

const push = (text: string, over: Parameters<typeof bundleInput>[1] = {}, signers = keys.config) =>
  publishAndWait(bundleBytes(bundleInput(text, { base: gw.agent.runningSha256, seq: ++seq, trialS: 3, ...over }), signers));

/** Both buses answered since the last restart, so that the trial compares against them. */
async function busesAnswered(): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!['lan', 'rs485'].every((b) => b in gw.runtime.baseline().buses)) {
    if (Date.now() > deadline) throw new Error('buses did not answer');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The running config and the files that must not move when a bundle is refused. */
function snapshot() {
  return { sha: gw.agent.runningSha256, local: readFileSync(localFile, 'utf8'), state: { ...state(), last: undefined } };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-remote-mqtt-'));
  pki = await createTestPki(GW);
  const fleetCert = await leafCert(pki, 'fleet-svc');
  broker = await startMosquitto({
    acl: ACL,
    tls: { caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, requireClientCertificate: true },
  });
  const profiles = loadProfiles();
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
  simPort = sim.port;
  line = await createPtyPair();
  rtu = await startModbusRtuSimulator({ path: line.b, baud: 9600, parity: 'none', dataBits: 8, stopBits: 1, devices: [{ unit: 2, profile: profiles.get('eastron-sdm630')! }] });
  deadLine = await createPtyPair(); // a serial port where nothing answers: the wrong ttyUSB
  keys = newKeyring();
  writeFileSync(join(dir, 'trust.dsse.json'), trustFile(keys, 1, { minS: 1, maxS: 30 }));
  localFile = join(dir, 'site.yaml');
  writeFileSync(localFile, site());
  fleet = await connectFleet(broker.url, pki, fleetCert, GW, statuses);
  gw = await startRemoteGateway(localFile, { stateDir: join(dir, 'cfg'), trustFile: join(dir, 'trust.dsse.json'), topicPrefix: 'pas/v1', maxBundleBytes: 262_144, headMaxAge: 93_600_000 }, GW, profiles, silentLogger());
  // Let the bus answer so that the trial has a baseline.
  await new Promise((r) => setTimeout(r, 2500));
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await fleet?.endAsync();
  await sim?.close();
  await rtu?.close();
  await line?.close();
  await deadLine?.close();
  await broker?.close();
  await pki?.remove();
});

describe('remote config over Mosquitto (TLS, client certificates, example ACL)', () => {
  it('applies a push signed by the config key and reports applied with the new hash', async () => {
    const text = site({ window: '10m' });
    const s = await push(text);
    expect(s.last).toMatchObject({ outcome: 'applied', seq });
    expect(s.running).toMatchObject({ seq, sha256: textHash(text), source: 'push', dirty: false });
    expect(gw.runtime.running).toBeDefined();
  }, 60_000);

  const refusals: [string, () => Buffer | string, string][] = [
    ['forged signature (one payload byte flipped)', () => {
      const env = JSON.parse(bundleBytes(bundleInput(site({ window: '15m' }), { base: gw.agent.runningSha256, seq: seq + 1 }), keys.config).toString());
      const p = Buffer.from(env.payload, 'base64');
      p[10]! ^= 1;
      return JSON.stringify({ ...env, payload: p.toString('base64') });
    }, 'sig'],
    ['valid signature by a key of the wrong role (head)', () => bundleBytes(bundleInput(site({ window: '15m' }), { base: gw.agent.runningSha256, seq: seq + 1 }), keys.head), 'role'],
    ['replayed older sequence', () => bundleBytes(bundleInput(site({ window: '15m' }), { base: gw.agent.runningSha256, seq: 1 }), keys.config), 'seq'],
    ['expired bundle', () => bundleBytes(bundleInput(site({ window: '15m' }), { base: gw.agent.runningSha256, seq: seq + 1, expires: new Date(Date.now() - 60_000) }), keys.config), 'expired'],
    ['bundle for another gateway', () => bundleBytes(bundleInput(site({ window: '15m' }), { gateway: 'gw-0002', base: gw.agent.runningSha256, seq: seq + 1 }), keys.config), 'wrong-gateway'],
    ['schema-invalid config', () => bundleBytes(bundleInput(site({ window: '7m' }), { base: gw.agent.runningSha256, seq: seq + 1 }), keys.config), 'schema'],
    ['policy widening with 1 of 2 policy signatures', () => bundleBytes(bundleInput(site({ allow: '    - match: "*"\n      statistics: [mean, max]' }), { base: gw.agent.runningSha256, seq: seq + 1 }), [keys.policy[0]!]), 'threshold'],
    ['policy widening with the same policy key twice', () => bundleBytes(bundleInput(site({ allow: '    - match: "*"\n      statistics: [mean, max]' }), { base: gw.agent.runningSha256, seq: seq + 1 }), [keys.policy[0]!, keys.policy[0]!]), 'threshold'],
    ['written against another config (base-mismatch)', () => bundleBytes(bundleInput(site({ window: '15m' }), { base: textHash('something else'), seq: seq + 1 }), keys.config), 'base-mismatch'],
    ['255 KiB of garbage', () => Buffer.alloc(255 * 1024, 'x'), 'malformed'],
    ['a YAML alias bomb in a validly signed bundle', () => {
      const lines = ['x0: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
      for (let i = 1; i <= 12; i++) lines.push(`x${i}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
      return bundleBytes(bundleInput(site({ alias: `${lines.join('\n')}\n` }), { base: gw.agent.runningSha256, seq: seq + 1 }), keys.config);
    }, 'schema'],
  ];

  it.each(refusals)('%s is refused; running config, local file and state untouched', async (_name, make, reason) => {
    const before = snapshot();
    const rss = process.memoryUsage().rss;
    const s = await publishAndWait(make());
    expect(s.last).toMatchObject({ outcome: 'refused', reason });
    expect(snapshot()).toEqual(before);
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 1024 * 1024);
  }, 30_000);

  it('a 10 MiB publish never reaches the gateway (packet size cap); the next bundle is handled', async () => {
    const before = snapshot();
    const statusCount = statuses.length;
    await fleet.publishAsync(cfgTopic('pas/v1', GW, 'desired'), Buffer.alloc(10 * 1024 * 1024, '{'), { qos: 1, retain: false });
    const s = await publishAndWait(Buffer.alloc(100, '}'));
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'malformed' });
    expect(statuses.slice(statusCount).filter((x) => x.last?.reason === 'too-large')).toHaveLength(0);
    expect(snapshot()).toEqual(before);
  }, 30_000);

  it('a gateway certificate can neither read nor write another gateway\'s config topics (ACL on the CN)', async () => {
    const other = await leafCert(pki, 'gw-0002');
    const c = connect(broker.url, { protocolVersion: 5, clientId: 'gw-0002-test', ca: readFileSync(pki.caFile), ...other, rejectUnauthorized: true });
    await new Promise<void>((resolve) => c.once('connect', () => resolve()));
    const got: string[] = [];
    c.on('message', (t) => got.push(t));
    await c.subscribeAsync([cfgTopic('pas/v1', GW, 'desired'), cfgTopic('pas/v1', GW, 'running')], { qos: 1 });
    const answers: string[] = [];
    const onRunning = (t: string) => t === cfgTopic('pas/v1', GW, 'running') && answers.push(t);
    fleet.on('message', onRunning);
    await fleet.subscribeAsync(cfgTopic('pas/v1', GW, 'running'), { qos: 1 });
    const before = snapshot();
    const seen = statuses.length;
    await c.publishAsync(cfgTopic('pas/v1', GW, 'desired'), 'x'.repeat(10), { qos: 1, retain: true }).catch(() => undefined);
    // Nor ask it for its running config (it would answer to the fleet service only anyway).
    await c.publishAsync(cfgTopic('pas/v1', GW, 'req'), JSON.stringify({ nonce: 'stolen-cert-0002' }), { qos: 1 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1000));
    fleet.off('message', onRunning);
    await fleet.unsubscribeAsync(cfgTopic('pas/v1', GW, 'running'));
    expect(answers).toEqual([]);
    expect(got).toEqual([]);
    expect(statuses.length).toBe(seen);
    expect(snapshot()).toEqual(before);
    await c.endAsync();
  }, 30_000);

  it('the fleet service fetches the running config over MQTT: the text, its hash, the sequence used, the signed bundle', async () => {
    const r = await fetchRunning(fleet, 'pas/v1', GW, 15_000);
    expect(r.sha256).toBe(gw.agent.runningSha256);
    expect(textHash(r.site)).toBe(r.sha256);
    expect(r.lastSeq).toBe(state().lastSeq);
    expect(r.source).toBe('push');
    expect(JSON.parse(r.envelope!)).toHaveProperty('signatures');
  }, 30_000);

  it('fleet sign --broker: sequence, base and policy diff from the running config it fetched; one config key is refused as the diff said', async () => {
    const out = join(dir, 'fetched-sign.json');
    const kf = join(dir, 'config.key');
    if (!existsSync(kf)) writePrivateKeyFile(kf, keys.config[0]!.privateKey);
    const next = join(dir, 'next.yaml');
    writeFileSync(next, site({ window: '15m', allow: '    - match: "meter.*"\n      statistics: [mean, max]' }));
    const write = process.stdout.write;
    let printed = '';
    process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
    try {
      await signCmd({
        gateway: GW, site: next, file: [], key: [kf], expires: '1h', trial: '3s', out,
        broker: broker.url, ca: pki.caFile, cert: join(pki.dir, 'fleet-svc.crt'), clientKey: join(pki.dir, 'fleet-svc.key'), prefix: 'pas/v1',
      });
    } finally {
      process.stdout.write = write;
    }
    expect(printed).toContain(`last sequence used ${state().lastSeq}`);
    expect(printed).toContain('needs the policy role');
    const signed = readSignedBundle(readFileSync(out));
    expect(signed.bundle).toMatchObject({ seq: state().lastSeq + 1, base: gw.agent.runningSha256 });
    // One config signature is not enough for a widening: refused as the diff said.
    const s = await publishAndWait(readFileSync(out));
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'threshold' });
  }, 60_000);

  it('a wrong broker is refused at pre-flight; nothing staged', async () => {
    const port = await freePort();
    const before = snapshot();
    const s = await push(site({ window: '15m', broker: `mqtts://127.0.0.1:${port}` }), {}, keys.policy);
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'preflight:broker' });
    expect(snapshot()).toEqual(before);
    seq -= 1; // not used up: refused before staging
  }, 30_000);

  it('a wrong bus port is rolled back after the trial; the old config runs again and the sequence stays used', async () => {
    await busesAnswered();
    const before = gw.agent.runningSha256;
    const s = await push(site({ window: '15m', busPort: await freePort() }));
    expect(s.last).toMatchObject({ outcome: 'rolled-back', reason: 'probe:bus:lan', seq });
    expect(s.running.sha256).toBe(before);
    expect(gw.agent.runningConfig.buses[0]).toMatchObject({ port: simPort });
    expect(state().lastSeq).toBe(seq);
    const replay = await publishAndWait(bundleBytes(bundleInput(site({ window: '15m' }), { base: before, seq }), keys.config));
    expect(replay.last).toMatchObject({ outcome: 'refused', reason: 'seq' });
  }, 60_000);

  it('a wrong serial port is rolled back after the trial; the old config runs again', async () => {
    await busesAnswered();
    const before = gw.agent.runningSha256;
    const s = await push(site({ window: '15m', serialPort: deadLine.a }));
    expect(s.last).toMatchObject({ outcome: 'rolled-back', reason: 'probe:bus:rs485', seq });
    expect(s.running.sha256).toBe(before);
    expect(gw.agent.runningConfig.buses[1]).toMatchObject({ port: line.a });
    expect(readFileSync(localFile, 'utf8')).toBe(site());
  }, 60_000);

  it('a policy widening signed by two policy keys is applied', async () => {
    const s = await push(site({ window: '10m', allow: '    - match: "meter.*"\n      statistics: [mean, max]' }), {}, keys.policy);
    expect(s.last).toMatchObject({ outcome: 'applied' });
  }, 60_000);
});
