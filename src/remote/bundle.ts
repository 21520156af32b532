/**
 * A config bundle (one per gateway, DSSE-signed) and the head (a short-lived signed pointer to the
 * latest sequence, so that a withheld bundle is noticed). Both payloads are JSON; the site YAML travels
 * as text and is parsed only after the signatures were checked.
 */
import { z } from 'zod';
import { type Envelope, payloadBytes, sha256Hex, signEnvelope } from './dsse.js';
import type { KeyPair } from './keys.js';
import { checkBundleFiles } from './bundle-paths.js';
import { Refusal } from './refusal.js';

export const BUNDLE_TYPE = 'application/vnd.passerelle.config-bundle.v1+json';
export const HEAD_TYPE = 'application/vnd.passerelle.head.v1+json';
export const SITE_FILE = 'site.yaml';
/** The Node-RED flows a bundle carries: installed into the flows file Node-RED reads when the site enables `nodered`. */
export const FLOWS_FILE = 'nodered/flows.json';

const gatewayId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/);
const hash = z.string().regex(/^sha256:[0-9a-f]{64}$/);

export const bundlePayloadSchema = z.strictObject({
  gateway: gatewayId,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  issuedAt: z.iso.datetime(),
  expires: z.iso.datetime(),
  base: z.union([hash, z.literal('any')]),
  files: z
    .record(z.string(), z.strictObject({ sha256: hash, text: z.string() }))
    .refine((f) => SITE_FILE in f, `the files include ${SITE_FILE}`),
  trialS: z.number().int().min(1),
  note: z.string().max(500).optional(),
});
export type BundlePayload = z.infer<typeof bundlePayloadSchema>;

export const headPayloadSchema = z.strictObject({
  gateway: gatewayId,
  seq: z.number().int().min(0),
  envelopeSha256: hash.optional(),
  issuedAt: z.iso.datetime(),
  expires: z.iso.datetime(),
});
export type HeadPayload = z.infer<typeof headPayloadSchema>;

export const textHash = (text: string): string => `sha256:${sha256Hex(Buffer.from(text, 'utf8'))}`;

function readJson<T>(e: Envelope, type: string, schema: z.ZodType<T>, what: string): T {
  if (e.payloadType !== type) throw new Refusal('malformed', `payloadType ${e.payloadType}; a ${what} is ${type}`);
  let json: unknown;
  try {
    json = JSON.parse(payloadBytes(e).toString('utf8'));
  } catch {
    throw new Refusal('malformed', `${what} payload is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Refusal('malformed', `${what} payload: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The payload of a bundle; every file's name is checked (bundle-paths.ts), then its hash against its text. */
export function readBundle(e: Envelope): BundlePayload {
  const bundle = readJson(e, BUNDLE_TYPE, bundlePayloadSchema, 'bundle');
  checkBundleFiles(bundle.files);
  for (const [name, f] of Object.entries(bundle.files))
    if (textHash(f.text) !== f.sha256) throw new Refusal('malformed', `file ${name}: sha256 does not match its text`);
  return bundle;
}

export const readHead = (e: Envelope): HeadPayload => readJson(e, HEAD_TYPE, headPayloadSchema, 'head');

export interface BundleInput {
  gateway: string;
  seq: number;
  issuedAt: Date;
  expires: Date;
  base: string;
  files: Record<string, string>;
  trialS: number;
  note?: string;
}

/** Refuses (Refusal) what the gateway would refuse for its file names, before anyone signs. */
export function makeBundlePayload(i: BundleInput): BundlePayload {
  const files = Object.fromEntries(Object.entries(i.files).map(([name, text]) => [name, { sha256: textHash(text), text }]));
  checkBundleFiles(files);
  return {
    gateway: i.gateway,
    seq: i.seq,
    issuedAt: i.issuedAt.toISOString(),
    expires: i.expires.toISOString(),
    base: i.base,
    files,
    trialS: i.trialS,
    ...(i.note === undefined ? {} : { note: i.note }),
  };
}

const signers = (keys: readonly KeyPair[]) => keys.map((k) => ({ keyid: k.keyid, key: k.privateKey }));

export const signBundle = (payload: BundlePayload, keys: readonly KeyPair[]): Envelope =>
  signEnvelope(BUNDLE_TYPE, Buffer.from(JSON.stringify(payload)), signers(keys));

export const signHead = (payload: HeadPayload, keys: readonly KeyPair[]): Envelope =>
  signEnvelope(HEAD_TYPE, Buffer.from(JSON.stringify(payload)), signers(keys));
