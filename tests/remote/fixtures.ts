/** Keys, trust files, site texts and bundles for the remote-config tests. */
import { makeBundlePayload, signBundle, signHead, textHash, type BundleInput } from '../../src/remote/bundle.js';
import { generateKey, spkiOf, type KeyPair } from '../../src/remote/keys.js';
import { signTrust, type Role, type TrustPayload } from '../../src/remote/trust.js';

export interface Keyring {
  root: KeyPair[];
  config: KeyPair[];
  policy: KeyPair[];
  head: KeyPair[];
}

export const newKeyring = (): Keyring => ({
  root: [generateKey(), generateKey(), generateKey()],
  config: [generateKey()],
  policy: [generateKey(), generateKey()],
  head: [generateKey()],
});

const THRESHOLDS: Record<Role, number> = { root: 2, config: 1, policy: 2, head: 1 };

export function trustPayload(k: Keyring, version = 1, trial = { minS: 1, maxS: 30 }): TrustPayload {
  const all = [...k.root, ...k.config, ...k.policy, ...k.head];
  return {
    version,
    expires: new Date(Date.now() + 365 * 86_400_000).toISOString(),
    keys: Object.fromEntries(all.map((p) => [p.keyid, { alg: 'ed25519' as const, spki: spkiOf(p.publicKey) }])),
    roles: {
      root: { keyids: k.root.map((p) => p.keyid), threshold: THRESHOLDS.root },
      config: { keyids: k.config.map((p) => p.keyid), threshold: THRESHOLDS.config },
      policy: { keyids: k.policy.map((p) => p.keyid), threshold: THRESHOLDS.policy },
      head: { keyids: k.head.map((p) => p.keyid), threshold: THRESHOLDS.head },
    },
    trial,
  };
}

export const trustFile = (k: Keyring, version = 1, trial?: { minS: number; maxS: number }): string =>
  JSON.stringify(signTrust(trustPayload(k, version, trial), k.root.slice(0, 2)));

export interface SiteOptions {
  gateway?: string;
  window?: string;
  allow?: string;
  broker?: string;
  buses?: string;
  devices?: string;
  storeDir?: string;
  extra?: string;
}

export function siteText(o: SiteOptions = {}): string {
  const dir = o.storeDir ?? '/tmp/passerelle-remote-test';
  return `site:
  id: test-site
  name: Test site
  clock:
    trust: always
gateway:
  id: ${o.gateway ?? 'gw-0001'}
${o.buses ?? 'buses:\n  - id: lan\n    type: tcp\n    host: 127.0.0.1\n    port: 5020\n'}${o.devices ?? 'devices:\n  - id: meter\n    bus: lan\n    unit: 1\n    profile: eastron-sdm630\n'}aggregation:
  window: ${o.window ?? '5m'}
store:
  path: ${dir}/store.db
  keyFile: ${dir}/store.key
${o.broker ? `uplink:\n  broker: ${o.broker}\n` : ''}policy:
  allow:
${o.allow ?? '    - match: "meter.*"\n      statistics: [mean]'}
${o.extra ?? ''}`;
}

export function bundleInput(site: string, over: Partial<BundleInput> = {}): BundleInput {
  const now = Date.now();
  return {
    gateway: 'gw-0001',
    seq: 1,
    issuedAt: new Date(now - 1000),
    expires: new Date(now + 3_600_000),
    base: 'any',
    files: { 'site.yaml': site },
    trialS: 2,
    ...over,
  };
}

export const bundleBytes = (input: BundleInput, keys: readonly KeyPair[]): Buffer =>
  Buffer.from(JSON.stringify(signBundle(makeBundlePayload(input), keys)));

export const headBytes = (k: Keyring, gateway: string, seq: number, issuedAt: Date, ttlMs: number): Buffer =>
  Buffer.from(JSON.stringify(signHead({ gateway, seq, issuedAt: issuedAt.toISOString(), expires: new Date(issuedAt.getTime() + ttlMs).toISOString() }, k.head)));

export { textHash };
