/**
 * The trust file: which Ed25519 keys hold which role, with thresholds (TUF roles without TUF's
 * repository). Version N+1 replaces N only when signed by a threshold of N's root keys AND of its own
 * root keys (TUF spec 5.3.4-5.3.5), one version at a time.
 */
import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import { type Envelope, parseEnvelope, payloadBytes, signEnvelope, validSigners } from './dsse.js';
import { keyidOf, publicKeyFromSpki, type KeyPair } from './keys.js';
import { Refusal } from './refusal.js';

export const TRUST_TYPE = 'application/vnd.passerelle.trust.v1+json';
export const ROLES = ['root', 'config', 'policy', 'head'] as const;
export type Role = (typeof ROLES)[number];
export const MAX_TRUST_BYTES = 65_536;

const roleSchema = z.strictObject({ keyids: z.array(z.string().regex(/^[0-9a-f]{64}$/)).min(1), threshold: z.number().int().min(1) });

export const trustPayloadSchema = z.strictObject({
  version: z.number().int().min(1),
  expires: z.iso.datetime(),
  keys: z.record(z.string(), z.strictObject({ alg: z.literal('ed25519'), spki: z.string().min(1) })),
  roles: z.strictObject({ root: roleSchema, config: roleSchema, policy: roleSchema, head: roleSchema }),
  trial: z.strictObject({ minS: z.number().int().min(1), maxS: z.number().int().min(1) }),
});
export type TrustPayload = z.infer<typeof trustPayloadSchema>;

export interface Trust {
  readonly payload: TrustPayload;
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly envelope: Envelope;
}

/** Parses the payload and checks it is coherent: key ids are the keys' hashes, thresholds reachable. */
function readPayload(e: Envelope): Omit<Trust, 'envelope'> {
  if (e.payloadType !== TRUST_TYPE) throw new Refusal('malformed', `payloadType ${e.payloadType}; a trust file is ${TRUST_TYPE}`);
  let json: unknown;
  try {
    json = JSON.parse(payloadBytes(e).toString('utf8'));
  } catch {
    throw new Refusal('malformed', 'trust payload is not JSON');
  }
  const parsed = trustPayloadSchema.safeParse(json);
  if (!parsed.success) throw new Refusal('malformed', `trust payload: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  const payload = parsed.data;
  const keys = new Map<string, KeyObject>();
  for (const [keyid, { spki }] of Object.entries(payload.keys)) {
    if (keyidOf(spki) !== keyid) throw new Refusal('malformed', `key ${keyid.slice(0, 12)}… is not the SHA-256 of its public key`);
    try {
      keys.set(keyid, publicKeyFromSpki(spki));
    } catch {
      throw new Refusal('malformed', `key ${keyid.slice(0, 12)}… is not an Ed25519 public key`);
    }
  }
  for (const role of ROLES) {
    const { keyids, threshold } = payload.roles[role];
    for (const k of keyids) if (!keys.has(k)) throw new Refusal('malformed', `role ${role} names unknown key ${k.slice(0, 12)}…`);
    if (new Set(keyids).size < threshold) throw new Refusal('malformed', `role ${role}: threshold ${threshold} above its ${new Set(keyids).size} keys`);
  }
  if (payload.trial.minS > payload.trial.maxS) throw new Refusal('malformed', 'trial.minS is above trial.maxS');
  return { payload, keys };
}

/** How many distinct keys of `role` signed, and the threshold. */
export function roleSignatures(trust: Pick<Trust, 'payload'>, role: Role, signers: ReadonlySet<string>): { count: number; threshold: number } {
  const { keyids, threshold } = trust.payload.roles[role];
  return { count: new Set(keyids.filter((k) => signers.has(k))).size, threshold };
}

function requireRoot(trust: Omit<Trust, 'envelope'>, signers: ReadonlySet<string>, which: string): void {
  const { count, threshold } = roleSignatures(trust, 'root', signers);
  if (count < threshold) throw new Refusal('threshold', `${count}/${threshold} ${which} root signatures`);
}

/** The trust file installed with the gateway: signed by a threshold of its own root keys. */
export function loadInitialTrust(bytes: Buffer | string): Trust {
  const envelope = parseEnvelope(bytes, MAX_TRUST_BYTES);
  const t = readPayload(envelope);
  requireRoot(t, validSigners(envelope, t.keys), 'own');
  return { ...t, envelope };
}

/** A new trust version, accepted only by the chain rule; `now` guards against installing an expired one. */
export function updateTrust(current: Trust, bytes: Buffer | string, now: number): Trust {
  const envelope = parseEnvelope(bytes, MAX_TRUST_BYTES);
  const next = readPayload(envelope);
  if (next.payload.version !== current.payload.version + 1)
    throw new Refusal('seq', `trust version ${next.payload.version}; only ${current.payload.version + 1} may follow ${current.payload.version}`);
  requireRoot(current, validSigners(envelope, current.keys), 'previous');
  requireRoot(next, validSigners(envelope, next.keys), 'new');
  if (Date.parse(next.payload.expires) <= now) throw new Refusal('expired', `trust version ${next.payload.version} expired ${next.payload.expires}`);
  return { ...next, envelope };
}

export function signTrust(payload: TrustPayload, signers: readonly KeyPair[]): Envelope {
  const bytes = Buffer.from(`${JSON.stringify(payload, null, 2)}\n`);
  return signEnvelope(TRUST_TYPE, bytes, signers.map((k) => ({ keyid: k.keyid, key: k.privateKey })));
}
