/**
 * A bundle carries the files its site refers to, by relative name (profiles/…, nodered/…): every name
 * that could leave the slot or collide is refused before anything is written; a carried profile is
 * checked at its line and used; a profile cannot widen what leaves past the policy role. Over the real
 * path: Mosquitto with TLS, client certificates and deploy/mosquitto-acl.example, a real gateway.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCmd } from '../../src/cli/commands/fleet.js';
import { silentLogger } from '../../src/core/logger.js';
import { startRemoteGateway, type RemoteGateway } from '../../src/gateway/remote.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { makeBundlePayload, signBundle, textHash, type BundlePayload } from '../../src/remote/bundle.js';
import { badFileName, checkBundleFiles, MAX_BUNDLE_FILES, MAX_BUNDLE_TEXT_BYTES } from '../../src/remote/bundle-paths.js';
import { readSignedBundle } from '../../src/remote/fleet.js';
import { writePrivateKeyFile, type KeyPair } from '../../src/remote/keys.js';
import { isRefusal } from '../../src/remote/refusal.js';
import { classWidening } from '../../src/remote/role.js';
import { StateDir } from '../../src/remote/state.js';
import type { RemoteStatus } from '../../src/remote/status.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { createTestPki, type TestPki } from '../helpers/certs.js';
import { connectFleet, leafCert, publishAndWait as publishAndWaitFor } from './fleet-client.js';
import { newKeyring, trustFile, type Keyring } from './fixtures.js';

const ACL = readFileSync(new URL('../../deploy/mosquitto-acl.example', import.meta.url), 'utf8');
const GW = 'gw-0001';
const SHIPPED = readFileSync(new URL('../../hardware/profiles/eastron-sdm630.yaml', import.meta.url), 'utf8');

/** A site-local copy of the SDM630 map under another id, its first point renamed (only this profile has it) and of class `cls`. */
function localProfile(cls = 'personal', over: (t: string) => string = (t) => t): string {
  const text = SHIPPED.replace('id: eastron-sdm630', 'id: site-sdm630').replace('  - name: voltage_l1\n', '  - name: tension_l1\n');
  const i = text.indexOf('  - name: tension_l1');
  const j = text.indexOf('class: energy', i);
  return over(`${text.slice(0, j)}class: ${cls}${text.slice(j + 'class: energy'.length)}`);
}

describe('bundle file names (checked before anything is written)', () => {
  const refused = (files: Record<string, string>) => {
    try {
      checkBundleFiles(Object.fromEntries(Object.entries(files).map(([n, text]) => [n, { text }])));
    } catch (e) {
      if (isRefusal(e)) return e.reason;
      throw e;
    }
    return undefined;
  };

  it.each([
    ['/etc/passerelle/site.yaml', 'absolute'],
    ['../site.yaml', '..'],
    ['profiles/../../x.yaml', '..'],
    ['profiles\\pump.yaml', 'backslash'],
    ['profiles/pump.yaml\0.txt', 'NUL'],
    ['profiles//pump.yaml', 'empty segment'],
    ['profiles/', 'empty segment'],
    ['./site2.yaml', '. segment'],
    ['.hidden', 'starts with a dot'],
    ['bundle.dsse.json', 'reserved'],
    ['a/b/c/d/e.yaml', 'deeper'],
    ['profiles/pömpe.yaml', 'character'],
  ])('%s is refused (%s)', (name, why) => {
    expect(refused({ 'site.yaml': 'x', [name]: 'y' })).toBe('file-path');
    expect(badFileName(name)).toContain(why);
  });

  it('refuses duplicates (also case-folded) and a file under a file', () => {
    expect(refused({ 'site.yaml': 'x', 'profiles/pump.yaml': 'a', 'Profiles/Pump.yaml': 'b' })).toBe('file-path');
    expect(refused({ 'site.yaml': 'x', 'SITE.yaml': 'b' })).toBe('file-path');
    expect(refused({ 'site.yaml': 'x', profiles: 'a', 'profiles/pump.yaml': 'b' })).toBe('file-path');
    expect(refused({ 'site.yaml': 'x', 'profiles/pump.yaml': 'a', 'nodered/flows.json': '[]' })).toBeUndefined();
  });

  it('refuses a bundle over the file-count or the total-size bound, whole', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_BUNDLE_FILES + 1 }, (_, i) => [`p/${i}.yaml`, '']));
    expect(refused(many)).toBe('file-bound');
    expect(refused({ 'site.yaml': 'x'.repeat(MAX_BUNDLE_TEXT_BYTES / 2), 'b.yaml': 'é'.repeat(MAX_BUNDLE_TEXT_BYTES / 4 + 1) })).toBe('file-bound');
    expect(refused({ 'site.yaml': 'x'.repeat(MAX_BUNDLE_TEXT_BYTES - 1), 'b.yaml': 'y' })).toBeUndefined();
  });

  it('any name it accepts stays inside the slot, and two accepted names are two files', () => {
    const root = '/var/lib/passerelle/cfg/slots/a';
    const segment = fc.oneof(fc.constantFrom('..', '.', '', 'profiles', 'a', 'A', 'x.yaml', '\\', '/', '\0', '.git', 'é'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join('/')), fc.boolean(), (name, lead) => {
        const n = lead ? `/${name}` : name;
        if (badFileName(n) !== undefined) return;
        const at = resolve(root, n);
        expect(at.startsWith(`${root}/`)).toBe(true);
        expect(at.slice(root.length + 1)).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });

  it('staging never writes through a link left in the slot: links are removed, folders and files created fresh', async () => {
    const root = mkdtempSync(join(tmpdir(), 'passerelle-stage-'));
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'site.yaml'), 'theirs');
    const state = new StateDir(join(root, 'cfg'));
    const slot = state.slotDir('a');
    symlinkSync(outside, join(slot, 'profiles'));
    symlinkSync(join(outside, 'site.yaml'), join(slot, 'site.yaml'));
    symlinkSync(join(outside, 'dangling.json'), join(slot, 'bundle.dsse.json'));
    await state.stage('a', { 'site.yaml': 'ours', 'profiles/p.yaml': 'id: p', 'bundle.dsse.json': '{}' });
    expect(readdirSync(outside).sort()).toEqual(['site.yaml']);
    expect(readFileSync(join(outside, 'site.yaml'), 'utf8')).toBe('theirs');
    for (const p of ['site.yaml', 'profiles', 'profiles/p.yaml', 'bundle.dsse.json']) expect(lstatSync(join(slot, p)).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(slot, 'profiles', 'p.yaml'), 'utf8')).toBe('id: p');
    // The slot itself a link: refused, nothing written there.
    rmSync(state.slotDir('b'), { recursive: true });
    symlinkSync(outside, state.slotDir('b'));
    await expect(state.stage('b', { 'site.yaml': 'ours' })).rejects.toThrow(/not a folder/);
    expect(readFileSync(join(outside, 'site.yaml'), 'utf8')).toBe('theirs');
  });

  it('makeBundlePayload (fleet sign) refuses what the gateway would', () => {
    expect(() => makeBundlePayload({ gateway: GW, seq: 1, issuedAt: new Date(), expires: new Date(Date.now() + 1000), base: 'any', files: { 'site.yaml': 'x', '../x': 'y' }, trialS: 1 })).toThrow(/file-path/);
  });
});

describe('a point that keeps its name can still widen what leaves (role.ts, classWidening)', () => {
  const policy = (minCount: Record<string, number> = {}) => ({ allow: [{ match: '*', statistics: ['mean' as const] }], minCount, health: [] });
  const facts = (dataClass: string, measure = 'gauge', decode = 'scale 1') => ({ dataClass, measure, decode });
  const widen = (was: ReturnType<typeof facts>, now: ReturnType<typeof facts>, minCount: Record<string, number> = {}) =>
    classWidening(new Map([['d.p', was]]), new Map([['d.p', now]]), policy(minCount), policy(minCount));

  it('a class that releases more is a widening; one that releases less or the same is not', () => {
    expect(widen(facts('personal'), facts('energy'))).toHaveLength(1);
    expect(widen(facts('identifier'), facts('occupancy'), { occupancy: 5 })).toHaveLength(1);
    expect(widen(facts('occupancy'), facts('energy'), { occupancy: 5 })).toHaveLength(1);
    expect(widen(facts('energy'), facts('personal'))).toEqual([]);
    expect(widen(facts('energy'), facts('water'))).toEqual([]);
    expect(widen(facts('personal'), facts('identifier'))).toEqual([]);
  });

  it('under a minCount, a new measure or a new decoding (a scale lifting small counts over it) is a widening', () => {
    expect(widen(facts('occupancy', 'counter'), facts('occupancy', 'gauge'), { occupancy: 5 })).toHaveLength(1);
    expect(widen(facts('occupancy', 'gauge', 'scale 1'), facts('occupancy', 'gauge', 'scale 10'), { occupancy: 5 })).toHaveLength(1);
    expect(widen(facts('energy', 'gauge', 'scale 1'), facts('energy', 'gauge', 'scale 10'))).toEqual([]);
    expect(widen(facts('personal', 'gauge', 'scale 1'), facts('personal', 'gauge', 'scale 10'))).toEqual([]);
  });
});

let pki: TestPki;
let broker: MosquittoBroker;
let sim: ModbusTcpSimulator;
let gw: RemoteGateway;
let fleet: MqttClient;
let keys: Keyring;
let dir: string;
let localFile: string;
const statuses: RemoteStatus[] = [];
let seq = 0;

function site(o: { window?: string; profiles?: string; meter2?: boolean } = {}): string {
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
${o.meter2 ? '  - id: meter2\n    bus: lan\n    unit: 2\n    profile: site-sdm630\n    points: [tension_l1]\n    poll: 1s\n' : ''}aggregation:
  window: ${o.window ?? '5m'}
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
    - match: "*"
      statistics: [mean]
remote:
  stateDir: ${dir}/cfg
  trustFile: ${dir}/trust.dsse.json
${o.profiles ?? ''}`;
}

const state = () => JSON.parse(readFileSync(join(dir, 'cfg', 'state.json'), 'utf8'));

/** Every file under the state directory with its bytes (the slots included), as a refusal must leave them. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(root.length + 1)] = readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return out;
}

function snapshot() {
  return { sha: gw.agent.runningSha256, config: JSON.stringify(gw.agent.runningConfig), local: readFileSync(localFile, 'utf8'), files: tree(join(dir, 'cfg')) };
}

const publishAndWait = (bytes: Buffer | string, timeoutMs = 30_000) => publishAndWaitFor(fleet, statuses, GW, bytes, timeoutMs);

/** A signed bundle with exactly these files, names unchecked (as an attacker holding a config key would write it). */
function rawBundle(files: Record<string, string>, signers: readonly KeyPair[], over: Partial<BundlePayload> = {}): Buffer {
  const now = Date.now();
  const payload: BundlePayload = {
    gateway: GW,
    seq: seq + 1,
    issuedAt: new Date(now - 1000).toISOString(),
    expires: new Date(now + 3_600_000).toISOString(),
    base: gw.agent.runningSha256,
    files: Object.fromEntries(Object.entries(files).map(([n, text]) => [n, { sha256: textHash(text), text }])),
    trialS: 3,
    ...over,
  };
  return Buffer.from(JSON.stringify(signBundle(payload, signers)));
}

async function push(files: Record<string, string>, signers: readonly KeyPair[] = keys.config): Promise<RemoteStatus> {
  const s = await publishAndWait(rawBundle(files, signers));
  if (s.last?.outcome !== 'refused') seq += 1;
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'passerelle-bundle-files-'));
  pki = await createTestPki(GW);
  const fleetCert = await leafCert(pki, 'fleet-svc');
  broker = await startMosquitto({ acl: ACL, tls: { caFile: pki.caFile, certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, requireClientCertificate: true } });
  const profiles = loadProfiles();
  sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [1, 2].map((unit) => ({ unit, profile: profiles.get('eastron-sdm630')! })) });
  keys = newKeyring();
  writeFileSync(join(dir, 'trust.dsse.json'), trustFile(keys, 1, { minS: 1, maxS: 30 }));
  localFile = join(dir, 'site.yaml');
  writeFileSync(localFile, site());
  fleet = await connectFleet(broker.url, pki, fleetCert, GW, statuses);
  gw = await startRemoteGateway(localFile, { stateDir: join(dir, 'cfg'), trustFile: join(dir, 'trust.dsse.json'), topicPrefix: 'pas/v1', maxBundleBytes: 262_144, headMaxAge: 93_600_000 }, GW, profiles, silentLogger());
  // A first push fills slot a, so that a refusal has slot contents to leave alone.
  const s = await push({ 'site.yaml': site({ window: '10m' }) });
  expect(s.last).toMatchObject({ outcome: 'applied' });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await fleet?.endAsync();
  await sim?.close();
  await broker?.close();
  await pki?.remove();
});

describe('a bundle carries the files its site refers to (Mosquitto, TLS, example ACL)', () => {
  const traversals: [string, () => Record<string, string>, string][] = [
    ['an absolute name', () => ({ 'site.yaml': site(), [`${dir}/site.yaml`]: 'x' }), 'file-path'],
    ['a .. name', () => ({ 'site.yaml': site(), '../../site.yaml': 'x' }), 'file-path'],
    ['a .. inside a name', () => ({ 'site.yaml': site(), 'profiles/../../../trust.dsse.json': 'x' }), 'file-path'],
    ['a backslash', () => ({ 'site.yaml': site(), '..\\..\\site.yaml': 'x' }), 'file-path'],
    ['a NUL', () => ({ 'site.yaml': site(), 'profiles/a.yaml\0': 'x' }), 'file-path'],
    ['an empty segment', () => ({ 'site.yaml': site(), 'profiles//a.yaml': 'x' }), 'file-path'],
    ['a case-folded duplicate', () => ({ 'site.yaml': site(), 'Site.YAML': 'x' }), 'file-path'],
    ['the envelope\'s own name', () => ({ 'site.yaml': site(), 'bundle.dsse.json': '{}' }), 'file-path'],
    ['more files than the bound', () => ({ 'site.yaml': site(), ...Object.fromEntries(Array.from({ length: MAX_BUNDLE_FILES }, (_, i) => [`p/${i}.txt`, 'x'])) }), 'file-bound'],
  ];

  it.each(traversals)('%s is refused; running config, local file, state and slots untouched', async (_name, files, reason) => {
    const before = snapshot();
    const s = await publishAndWait(rawBundle(files(), keys.config));
    expect(s.last).toMatchObject({ outcome: 'refused', reason });
    expect(snapshot()).toEqual(before);
  }, 30_000);

  it('a relative profiles: folder the bundle does not carry, or one that leaves it, is refused as schema', async () => {
    const before = snapshot();
    const missing = await publishAndWait(rawBundle({ 'site.yaml': site({ profiles: 'profiles: [profiles]\n' }) }, keys.config));
    expect(missing.last).toMatchObject({ outcome: 'refused', reason: 'schema' });
    expect(missing.last?.detail).toContain('no folder');
    const escape = await publishAndWait(rawBundle({ 'site.yaml': site({ profiles: 'profiles: [../../profiles]\n' }), 'profiles/a.yaml': 'x' }, keys.config));
    expect(escape.last).toMatchObject({ outcome: 'refused', reason: 'schema' });
    expect(snapshot()).toEqual(before);
  }, 60_000);

  it('a bad carried profile is refused at its file and line, as a local one', async () => {
    const before = snapshot();
    const bad = localProfile('personal', (t) => t.replace('type: f32', 'type: f33'));
    const line = bad.split('\n').findIndex((l) => l.includes('type: f33')) + 1;
    const s = await publishAndWait(rawBundle({ 'site.yaml': site({ meter2: true, profiles: 'profiles: [profiles]\n' }), 'profiles/site-sdm630.yaml': bad }, keys.config));
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'schema' });
    expect(s.last?.detail).toMatch(new RegExp(`^profiles/site-sdm630\\.yaml:${line}:\\d+`));
    expect(snapshot()).toEqual(before);
  }, 30_000);

  it('a carried profile is staged under the slot and used: the device reads the point only that profile has', async () => {
    const profile = localProfile('personal');
    const s = await push({ 'site.yaml': site({ meter2: true, profiles: 'profiles: [profiles]\n' }), 'profiles/site-sdm630.yaml': profile });
    expect(s.last).toMatchObject({ outcome: 'applied', seq });
    const slot = state().committed.slot;
    expect(readFileSync(join(dir, 'cfg', 'slots', slot, 'profiles', 'site-sdm630.yaml'), 'utf8')).toBe(profile);
    expect(statSync(join(dir, 'cfg', 'slots', slot, 'profiles')).mode & 0o777).toBe(0o700);
    const deadline = Date.now() + 10_000;
    // Unit 2 is read by meter2 only, through the carried profile: its replies are that profile's reads.
    const answers = () => (gw.runtime.running!.stats().buses as Record<string, { units: Record<string, { ok: number }> }>).lan?.units[2]?.ok ?? 0;
    while (answers() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(answers()).toBeGreaterThan(0);
    expect((gw.runtime.running!.stats().devices as Record<string, { cycles: number }>).meter2!.cycles).toBeGreaterThan(0);
  }, 60_000);

  it('a profile that turns a personal point into energy (the site text unchanged) needs the policy role: one config key is refused', async () => {
    const before = snapshot();
    const files = { 'site.yaml': site({ meter2: true, profiles: 'profiles: [profiles]\n' }), 'profiles/site-sdm630.yaml': localProfile('energy') };
    const s = await publishAndWait(rawBundle(files, keys.config));
    expect(s.last).toMatchObject({ outcome: 'refused', reason: 'threshold' });
    expect(s.last?.detail).toContain('meter2.tension_l1: class personal became energy');
    expect(snapshot()).toEqual(before);
    // The same bundle signed by two policy keys applies.
    const ok = await push(files, keys.policy);
    expect(ok.last).toMatchObject({ outcome: 'applied' });
  }, 60_000);

  it('fleet sign collects the relative profiles: folder and --file by their names under the site folder, and lists them', async () => {
    const siteDir = join(dir, 'operator');
    mkdirSync(join(siteDir, 'profiles'), { recursive: true });
    mkdirSync(join(siteDir, 'nodered'), { recursive: true });
    writeFileSync(join(siteDir, 'site.yaml'), site({ window: '15m', meter2: true, profiles: 'profiles: [profiles]\n' }));
    writeFileSync(join(siteDir, 'profiles', 'site-sdm630.yaml'), localProfile('energy'));
    writeFileSync(join(siteDir, 'nodered', 'flows.json'), '[]');
    const kf = join(dir, 'config.key');
    writePrivateKeyFile(kf, keys.config[0]!.privateKey);
    const out = join(dir, 'signed.json');
    let printed = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => ((printed += chunk), true)) as typeof process.stdout.write;
    try {
      await signCmd({ gateway: GW, site: join(siteDir, 'site.yaml'), file: [join(siteDir, 'nodered', 'flows.json')], key: [kf], expires: '1h', trial: '3s', out, seq: String(seq + 1), base: gw.agent.runningSha256 });
      await expect(signCmd({ gateway: GW, site: join(siteDir, 'site.yaml'), file: [localFile], key: [kf], expires: '1h', trial: '3s', out: `${out}.2`, seq: '1', base: 'any' })).rejects.toThrow(/not inside/);
    } finally {
      process.stdout.write = write;
    }
    expect(Object.keys(readSignedBundle(readFileSync(out)).bundle.files).sort()).toEqual(['nodered/flows.json', 'profiles/site-sdm630.yaml', 'site.yaml']);
    expect(printed).toContain('file profiles/site-sdm630.yaml');
    expect(printed).toContain('file nodered/flows.json');
  }, 30_000);
});
