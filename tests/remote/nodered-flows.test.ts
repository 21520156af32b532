/**
 * Flows carried by a bundle reach the Node-RED child the gateway supervises (a real one), over the real
 * path: Mosquitto with TLS, client certificates and deploy/mosquitto-acl.example, a real gateway. The
 * flows Node-RED runs after apply are the bundle's, the previous ones after a rollback; flows that crash
 * Node-RED roll back (probe:nodered); flows edited on site are never written over (base-mismatch).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noderedSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { startRemoteGateway, type RemoteGateway } from '../../src/gateway/remote.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { FLOWS_FILE, makeBundlePayload, signBundle } from '../../src/remote/bundle.js';
import type { KeyPair } from '../../src/remote/keys.js';
import { fetchRunning } from '../../src/remote/fleet.js';
import type { RemoteStatus } from '../../src/remote/status.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { freePort, startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { connectFleet, leafCert, publishAndWait as publishAndWaitFor } from './fleet-client.js';
import { api, flow, setPassword, token, waitForEditor } from '../nodered/helpers.js';
import { newKeyring, trustFile, type Keyring } from './fixtures.js';

const ACL = readFileSync(new URL('../../deploy/mosquitto-acl.example', import.meta.url), 'utf8');
const GW = 'gw-0001';

let pki: TestPki;
let broker: MosquittoBroker;
let sim: ModbusTcpSimulator;
let gw: RemoteGateway;
let fleet: MqttClient;
let keys: Keyring;
let dir: string;
let nrPort: number;
let flowFile: string;
const statuses: RemoteStatus[] = [];
let seq = 0;

const comment = (id: string) => JSON.stringify(flow([{ id, type: 'comment', name: id }]));
/** An inject that fires at start into a function whose rejected promise is unhandled: Node-RED exits (code 1) at each start. */
const crashing = JSON.stringify(
  flow([
    { id: 'boom-inject', type: 'inject', once: true, onceDelay: 0.1, repeat: '', payload: '', payloadType: 'date', wires: [['boom-fn']] },
    { id: 'boom-fn', type: 'function', func: "Promise.reject(new Error('boom'));\nreturn msg;", outputs: 1, wires: [[]] },
  ]),
);

function site(window = '5m', nodered?: string): string {
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
    port: ${sim.port}
    timeout: 500ms
    retries: 0
devices:
  - id: meter
    bus: lan
    unit: 1
    profile: eastron-sdm630
    points: [voltage_l1]
    poll: 1s
aggregation:
  window: ${window}
store:
  path: ${dir}/store.db
  keyFile: ${dir}/store.key
uplink:
  broker: ${broker.url}
  caFile: ${pki.caFile}
  certFile: ${pki.clientCertFile}
  keyFile: ${pki.clientKeyFile}
policy:
  allow:
    - match: "meter.*"
      statistics: [mean]
remote:
  stateDir: ${dir}/cfg
  trustFile: ${dir}/trust.dsse.json
nodered:
${nodered ?? `  dir: ${dir}/nodered
  socket: ${dir}/nodered/bridge.sock
  port: ${nrPort}
  runAs: nobody`}
`;
}

const publishAndWait = (bytes: Buffer | string, timeoutMs = 150_000) => publishAndWaitFor(fleet, statuses, GW, bytes, timeoutMs);

async function push(flows: string | undefined, o: { signers?: readonly KeyPair[]; base?: string; window?: string; nodered?: string } = {}): Promise<RemoteStatus> {
  const now = Date.now();
  const files: Record<string, string> = { 'site.yaml': site(o.window, o.nodered), ...(flows === undefined ? {} : { [FLOWS_FILE]: flows }) };
  const payload = makeBundlePayload({ gateway: GW, seq: seq + 1, issuedAt: new Date(now - 1000), expires: new Date(now + 3_600_000), base: o.base ?? gw.agent.runningSha256, files, trialS: 100 });
  const s = await publishAndWait(Buffer.from(JSON.stringify(signBundle(payload, o.signers ?? keys.config))));
  if (s.last?.outcome !== 'refused') seq += 1;
  return s;
}

/** The node ids of the flows Node-RED runs, from its admin API. */
async function running(): Promise<string[]> {
  const base = gw.runtime.running!.noderedState()!.url;
  await waitForEditor(base);
  const r = await api(base, 'flows', { token: await token(base) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { id: string }[]).map((n) => n.id).sort();
}

const ids = (flows: string) => (JSON.parse(flows) as { id: string }[]).map((n) => n.id).sort();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-remote-nodered-'));
  chmodSync(dir, 0o755); // the flows user (nobody) must reach nodered.dir
  pki = await createTestPki(GW);
  const fleetCert = await leafCert(pki, 'fleet-svc');
  broker = await startMosquitto({ acl: ACL, tls: { caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, requireClientCertificate: true } });
  const profiles = loadProfiles();
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: profiles.get('eastron-sdm630')! }] });
  nrPort = await freePort();
  keys = newKeyring();
  writeFileSync(join(dir, 'trust.dsse.json'), trustFile(keys, 1, { minS: 1, maxS: 120 }));
  setPassword(noderedSchema.parse({ dir: join(dir, 'nodered'), port: nrPort }));
  // Flows a technician made on site before any push.
  mkdirSync(join(dir, 'nodered', 'user'), { recursive: true, mode: 0o700 });
  flowFile = join(dir, 'nodered', 'user', 'flows.json');
  writeFileSync(flowFile, comment('made-on-site'));
  writeFileSync(join(dir, 'site.yaml'), site());
  fleet = await connectFleet(broker.url, pki, fleetCert, GW, statuses);
  gw = await startRemoteGateway(join(dir, 'site.yaml'), { stateDir: join(dir, 'cfg'), trustFile: join(dir, 'trust.dsse.json'), topicPrefix: 'pas/v1', maxBundleBytes: 262_144, headMaxAge: 93_600_000 }, GW, profiles, silentLogger());
  expect(await running()).toEqual(ids(comment('made-on-site')));
}, 180_000);

afterAll(async () => {
  await gw?.stop();
  await fleet?.endAsync();
  await sim?.close();
  await broker?.close();
  await pki?.remove();
}, 60_000);

describe('Node-RED flows carried by a bundle (real Node-RED, Mosquitto with TLS and the example ACL)', () => {
  it('flows made on site are not written over by a push: refused base-mismatch, the flows file untouched', async () => {
    const before = readFileSync(flowFile, 'utf8');
    const sha = gw.agent.runningSha256;
    const s = await push(comment('pushed-a'));
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'base-mismatch' });
    expect(s.last?.detail).toContain('flows made on site');
    expect(readFileSync(flowFile, 'utf8')).toBe(before);
    expect(gw.agent.runningSha256).toBe(sha);
  }, 60_000);

  it('a forced push (base: any, two policy keys) installs its flows: Node-RED runs them after apply', async () => {
    const s = await push(comment('pushed-a'), { base: 'any', signers: keys.policy });
    expect(s.last).toMatchObject({ outcome: 'applied', seq });
    expect(readFileSync(flowFile, 'utf8')).toBe(comment('pushed-a'));
    expect(await running()).toEqual(ids(comment('pushed-a')));
  }, 180_000);

  it('flows that crash Node-RED roll back (probe:nodered); Node-RED runs the previous flows again', async () => {
    const sha = gw.agent.runningSha256;
    const s = await push(crashing);
    expect(s.last).toMatchObject({ outcome: 'rolled-back', reason: 'probe:nodered', seq });
    expect(s.last?.detail).toContain('exited');
    expect(gw.agent.runningSha256).toBe(sha);
    expect(readFileSync(flowFile, 'utf8')).toBe(comment('pushed-a'));
    expect(await running()).toEqual(ids(comment('pushed-a')));
  }, 240_000);

  it('a whole-gateway change with new flows applies them too', async () => {
    const s = await push(comment('pushed-b'), { window: '10m' });
    expect(s.last).toMatchObject({ outcome: 'applied', seq });
    expect(await running()).toEqual(ids(comment('pushed-b')));
  }, 180_000);

  it('flows deployed in the editor since the push are not written over: the next push is refused base-mismatch', async () => {
    const base = gw.runtime.running!.noderedState()!.url;
    const r = await api(base, 'flows', { token: await token(base), method: 'POST', body: JSON.parse(comment('edited-in-editor')), headers: { 'node-red-deployment-type': 'full' } });
    expect(r.status).toBeLessThan(300);
    const edited = readFileSync(flowFile, 'utf8');
    expect(ids(edited)).toEqual(ids(comment('edited-in-editor')));
    const s = await push(comment('pushed-c'));
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'base-mismatch' });
    expect(s.last?.detail).toContain('changed in the editor');
    // Reported dirty, and the running-config answer carries the edited flows for the operator to merge.
    expect(s.running.dirty).toBe(true);
    const report = await fetchRunning(fleet, 'pas/v1', GW, 15_000);
    expect(report.dirty).toBe(true);
    expect(report.flows).toBe(edited);
    expect(readFileSync(flowFile, 'utf8')).toBe(edited);
    expect(await running()).toEqual(ids(comment('edited-in-editor')));
  }, 120_000);

  it('flows for a Node-RED that its own unit runs (supervisor: systemd) are refused at pre-flight, nothing written', async () => {
    const sha = gw.agent.runningSha256;
    const before = readFileSync(flowFile, 'utf8');
    const s = await push(comment('for-the-unit'), { nodered: '  supervisor: systemd', base: 'any', signers: keys.policy });
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'preflight:nodered' });
    expect(gw.agent.runningSha256).toBe(sha);
    expect(readFileSync(flowFile, 'utf8')).toBe(before);
  }, 60_000);

  it('a push carrying exactly the flows edited on site (merged by the operator) applies and adopts them: no longer dirty', async () => {
    const edited = (await fetchRunning(fleet, 'pas/v1', GW, 15_000)).flows!;
    const s = await push(edited);
    expect(s.last).toMatchObject({ outcome: 'applied', seq });
    expect(s.running.dirty).toBe(false);
    expect(readFileSync(flowFile, 'utf8')).toBe(edited);
    expect(await running()).toEqual(ids(comment('edited-in-editor')));
  }, 120_000);
});
