/**
 * The running config on request: the fleet side asks on `…/cfg/req` (a nonce), the gateway answers on
 * `…/cfg/running` (QoS 1, not retained) with the site text it runs, its hash, the sequence used so far
 * and, when it came as a push, the signed bundle. The ACL lets only the fleet service ask and read
 * (deploy/mosquitto-acl.example); secrets are file references in the config, never inline. `fleet sign`
 * uses the answer for the base hash, the next sequence and the policy diff.
 */
import { z } from 'zod';
import { textHash } from './bundle.js';

/** A request is a nonce and nothing else: anything larger is not one. */
export const MAX_REQUEST_BYTES = 256;

const requestSchema = z.strictObject({ nonce: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/) });

export interface RunningReport {
  gateway: string;
  nonce: string;
  sha256: string;
  seq: number | null;
  lastSeq: number;
  source: 'push' | 'local' | 'file';
  dirty: boolean;
  /** The site YAML that runs (byte for byte: its hash is `sha256`). */
  site: string;
  /** The DSSE envelope it came in, when it was a push. */
  envelope?: string;
  /** The Node-RED flows that run, when they were changed in the editor since a push installed them (to merge). */
  flows?: string;
}

/** The nonce of a request, or undefined for anything else (ignored unread beyond its size). */
export function readRequest(bytes: Buffer): string | undefined {
  if (bytes.length > MAX_REQUEST_BYTES) return undefined;
  try {
    const r = requestSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return r.success ? r.data.nonce : undefined;
  } catch {
    return undefined;
  }
}

/** Checks an answer: the site text hashes to what the gateway says it runs. */
export function checkReport(r: RunningReport): RunningReport {
  if (typeof r.site !== 'string' || textHash(r.site) !== r.sha256) throw new Error(`the running config from ${r.gateway} does not match its hash ${r.sha256}`);
  return r;
}
