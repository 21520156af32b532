import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseEnvelope, pae, signEnvelope, validSigners } from '../../src/remote/dsse.js';
import { generateKey } from '../../src/remote/keys.js';
import { isRefusal, Refusal } from '../../src/remote/refusal.js';
import { loadInitialTrust, signTrust, updateTrust } from '../../src/remote/trust.js';
import { newKeyring, trustFile, trustPayload } from './fixtures.js';

const reasonOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isRefusal(e)) return e.reason;
    throw e;
  }
  return 'accepted';
};

describe('DSSE', () => {
  it('PAE is the DSSE v1 encoding (spec example)', () => {
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('a signature verifies over the exact bytes; one flipped bit or another type does not', () => {
    const k = generateKey();
    const keys = new Map([[k.keyid, k.publicKey]]);
    const e = signEnvelope('t', Buffer.from('{"a":1}'), [{ keyid: k.keyid, key: k.privateKey }]);
    expect(validSigners(e, keys)).toEqual(new Set([k.keyid]));
    const flipped = Buffer.from(e.payload, 'base64');
    flipped[0]! ^= 1;
    expect(validSigners({ ...e, payload: flipped.toString('base64') }, keys).size).toBe(0);
    expect(validSigners({ ...e, payloadType: 'u' }, keys).size).toBe(0);
  });

  it('the same key signing twice counts once', () => {
    const k = generateKey();
    const e = signEnvelope('t', Buffer.from('x'), [{ keyid: k.keyid, key: k.privateKey }, { keyid: k.keyid, key: k.privateKey }]);
    expect(validSigners(e, new Map([[k.keyid, k.publicKey]])).size).toBe(1);
  });

  it('any bytes either parse into an envelope or are refused as malformed/too-large, never throw otherwise', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map((j) => new TextEncoder().encode(j))), (bytes) => {
        try {
          parseEnvelope(Buffer.from(bytes), 256);
        } catch (e) {
          expect(e).toBeInstanceOf(Refusal);
          expect(['malformed', 'too-large']).toContain((e as Refusal).reason);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses an envelope over the size cap before parsing it', () => {
    expect(reasonOf(() => parseEnvelope(Buffer.alloc(1000, 0x7b), 999))).toBe('too-large');
  });
});

describe('trust file', () => {
  it('loads a trust file signed by a threshold of its root keys, refuses one below it', () => {
    const k = newKeyring();
    expect(loadInitialTrust(trustFile(k)).payload.version).toBe(1);
    const one = JSON.stringify(signTrust(trustPayload(k), [k.root[0]!, k.root[0]!]));
    expect(reasonOf(() => loadInitialTrust(one))).toBe('threshold');
  });

  it('refuses a key id that is not the hash of its key', () => {
    const k = newKeyring();
    const p = trustPayload(k);
    const [id, key] = Object.entries(p.keys)[0]!;
    const other = Object.entries(p.keys)[1]![1];
    p.keys[id] = other;
    void key;
    expect(reasonOf(() => loadInitialTrust(JSON.stringify(signTrust(p, k.root.slice(0, 2)))))).toBe('malformed');
  });

  describe('rotation (old AND new root thresholds, one version at a time)', () => {
    const k1 = newKeyring();
    const v1 = loadInitialTrust(trustFile(k1));
    const k2 = { ...newKeyring(), config: k1.config };
    const v2payload = trustPayload(k2, 2);
    const now = Date.now();

    it('accepts v2 signed by 2 of 3 old and 2 of 3 new root keys', () => {
      const v2 = updateTrust(v1, JSON.stringify(signTrust(v2payload, [k1.root[0]!, k1.root[2]!, k2.root[1]!, k2.root[2]!])), now);
      expect(v2.payload.version).toBe(2);
    });
    it('refuses v2 signed by new keys only', () => {
      expect(reasonOf(() => updateTrust(v1, JSON.stringify(signTrust(v2payload, k2.root)), now))).toBe('threshold');
    });
    it('refuses v2 signed by old keys only', () => {
      expect(reasonOf(() => updateTrust(v1, JSON.stringify(signTrust(v2payload, k1.root)), now))).toBe('threshold');
    });
    it('refuses a skipped version (v1 -> v3)', () => {
      const v3 = signTrust(trustPayload(k2, 3), [...k1.root, ...k2.root]);
      expect(reasonOf(() => updateTrust(v1, JSON.stringify(v3), now))).toBe('seq');
    });
  });
});

describe('bundle verification on arbitrary signed payloads', () => {
  it('any payload a trusted key signed is applied-or-refused with a stable reason, never a crash', async () => {
    const { verifyBundle } = await import('../../src/remote/verify.js');
    const { signEnvelope } = await import('../../src/remote/dsse.js');
    const { BUNDLE_TYPE, makeBundlePayload, textHash } = await import('../../src/remote/bundle.js');
    const { loadConfigText } = await import('../../src/config/index.js');
    const { REFUSAL_REASONS } = await import('../../src/remote/refusal.js');
    const { siteText } = await import('./fixtures.js');
    const k = newKeyring();
    const trust = loadInitialTrust(trustFile(k));
    const running = (loadConfigText(siteText(), 's') as { ok: true; config: never; warnings: unknown }).config;
    const valid = makeBundlePayload({ gateway: 'gw-0001', seq: 1, issuedAt: new Date(), expires: new Date(Date.now() + 60_000), base: 'any', files: { 'site.yaml': siteText() }, trialS: 1 });
    const payloads = fc.oneof(
      fc.json(),
      fc.record({ ...Object.fromEntries(Object.entries(valid).map(([key, v]) => [key, fc.oneof(fc.constant(v), fc.jsonValue())])) }).map((o) => JSON.stringify(o)),
      fc.oneof(fc.string({ maxLength: 2000 }), fc.constantFrom(...siteText().split('\n').map((_, i, lines) => lines.slice(0, i).join('\n')))).map((yaml) => JSON.stringify({ ...valid, files: { 'site.yaml': { sha256: textHash(yaml), text: yaml } } })),
    );
    fc.assert(
      fc.property(payloads, (text) => {
        const env = signEnvelope(BUNDLE_TYPE, Buffer.from(text), [{ keyid: k.policy[0]!.keyid, key: k.policy[0]!.privateKey }, { keyid: k.policy[1]!.keyid, key: k.policy[1]!.privateKey }]);
        try {
          verifyBundle(JSON.stringify(env), { trust, gateway: 'gw-0001', lastSeq: 0, timeFloor: 0, now: Date.now(), running, runningSha256: 'sha256:x', maxBytes: 262_144 });
        } catch (e) {
          expect(e).toBeInstanceOf(Refusal);
          expect(REFUSAL_REASONS).toContain((e as Refusal).reason);
        }
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
