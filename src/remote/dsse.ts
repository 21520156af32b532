/**
 * DSSE envelopes (secure-systems-lab/dsse, protocol.md): signatures are over the PAE of the payload type
 * and the exact payload bytes, so nothing is canonicalised. Ed25519 through node:crypto only.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { Refusal } from './refusal.js';

export interface Signature {
  readonly keyid: string;
  readonly sig: string;
}

export interface Envelope {
  readonly payloadType: string;
  /** Base64 of the payload bytes. */
  readonly payload: string;
  readonly signatures: readonly Signature[];
}

/** At most this many signatures are looked at: a list of thousands would only cost CPU. */
export const MAX_SIGNATURES = 16;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Pre-Authentication Encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

export function signEnvelope(payloadType: string, payload: Buffer, signers: readonly { keyid: string; key: KeyObject }[]): Envelope {
  const message = pae(payloadType, payload);
  return {
    payloadType,
    payload: payload.toString('base64'),
    signatures: signers.map(({ keyid, key }) => ({ keyid, sig: sign(null, message, key).toString('base64') })),
  };
}

/** Parses envelope bytes already bounded in size; anything unexpected is `malformed`. */
export function parseEnvelope(bytes: Buffer | string, maxBytes: number): Envelope {
  const length = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length;
  if (length > maxBytes) throw new Refusal('too-large', `${length} bytes; at most ${maxBytes}`);
  let data: unknown;
  try {
    data = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch {
    throw new Refusal('malformed', 'not a JSON DSSE envelope');
  }
  const e = data as Partial<Envelope> | null;
  if (!e || typeof e !== 'object' || typeof e.payloadType !== 'string' || typeof e.payload !== 'string' || !Array.isArray(e.signatures))
    throw new Refusal('malformed', 'an envelope has payloadType, payload and signatures');
  if (!BASE64.test(e.payload)) throw new Refusal('malformed', 'payload is not base64');
  if (e.signatures.length === 0 || e.signatures.length > MAX_SIGNATURES)
    throw new Refusal('malformed', `${e.signatures.length} signatures; 1 to ${MAX_SIGNATURES} expected`);
  for (const s of e.signatures as unknown[]) {
    const sig = s as Partial<Signature> | null;
    if (!sig || typeof sig !== 'object' || typeof sig.keyid !== 'string' || typeof sig.sig !== 'string' || !BASE64.test(sig.sig))
      throw new Refusal('malformed', 'each signature has a keyid and a base64 sig');
  }
  return { payloadType: e.payloadType, payload: e.payload, signatures: e.signatures };
}

export const payloadBytes = (e: Envelope): Buffer => Buffer.from(e.payload, 'base64');

/**
 * The key ids (among `keys`) whose signature verifies. A keyid in the envelope is only a hint: each is
 * checked against the key the trust file binds to it, and a key is counted once however often it signed.
 */
export function validSigners(e: Envelope, keys: ReadonlyMap<string, KeyObject>): Set<string> {
  const message = pae(e.payloadType, payloadBytes(e));
  const valid = new Set<string>();
  for (const { keyid, sig } of e.signatures) {
    const key = keys.get(keyid);
    if (!key || valid.has(keyid)) continue;
    const raw = Buffer.from(sig, 'base64');
    if (raw.length === 64 && verify(null, message, key, raw)) valid.add(keyid);
  }
  return valid;
}

export const sha256Hex = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
