/**
 * Verification of a pushed bundle, in an order that spends nothing on untrusted input: size, envelope,
 * signatures by a config or policy key (before any YAML is parsed), target, sequence, expiry against
 * max(clock, time floor), base, then the YAML and schema, then the role the diff needs and its threshold.
 * Pure: no I/O; every failure is a Refusal with a stable reason.
 */
import { isAbsolute, normalize } from 'node:path';
import { loadConfigText, formatIssue } from '../config/index.js';
import type { Config } from '../config/schema.js';
import { FLOWS_FILE, readBundle, SITE_FILE, type BundlePayload } from './bundle.js';
import { parseEnvelope, validSigners } from './dsse.js';
import { Refusal } from './refusal.js';
import { requiredRole, type PointClasses, type RoleDecision } from './role.js';
import { roleSignatures, type Trust } from './trust.js';

export interface VerifyContext {
  readonly trust: Trust;
  readonly gateway: string;
  readonly lastSeq: number;
  readonly timeFloor: number;
  readonly now: number;
  readonly running: Config;
  readonly runningSha256: string;
  readonly maxBytes: number;
  /** The site file was edited by hand since it was adopted: no push may land on top of that edit. */
  readonly handEdited?: boolean;
  /** Classes of the running config's points (class changes that widen need `policy`, role.ts). */
  readonly runningPoints?: PointClasses;
  /**
   * Parses the site YAML as `passerelle check` does (known profiles included, the bundle's own `files`
   * read in place of the slot they will be staged into); the bare schema by default.
   */
  readonly parse?: (text: string, files: Readonly<Record<string, string>>) => SiteParse;
}

/** A parsed site: its config and, when the parser resolves them, its points' classes; or FILE:LINE:COL lines. */
export type SiteParse = { ok: true; config: Config; points?: PointClasses } | { ok: false; errors: string[] };

export interface VerifiedBundle {
  readonly bundle: BundlePayload;
  readonly config: Config;
  readonly role: RoleDecision;
  readonly signers: ReadonlySet<string>;
  readonly points?: PointClasses;
}

export function verifyBundle(bytes: Buffer | string, ctx: VerifyContext): VerifiedBundle {
  const envelope = parseEnvelope(bytes, ctx.maxBytes);
  const signers = validSigners(envelope, ctx.trust.keys);
  if (signers.size === 0) throw new Refusal('sig', 'no signature verifies with a key of the trust file');
  const config = roleSignatures(ctx.trust, 'config', signers);
  const policy = roleSignatures(ctx.trust, 'policy', signers);
  if (config.count === 0 && policy.count === 0) throw new Refusal('role', 'signed only by keys that hold neither the config nor the policy role');

  const bundle = readBundle(envelope);
  if (bundle.gateway !== ctx.gateway) throw new Refusal('wrong-gateway', `bundle for ${bundle.gateway}, this is ${ctx.gateway}`);
  if (bundle.seq <= ctx.lastSeq) throw new Refusal('seq', `sequence ${bundle.seq}; the last one used here is ${ctx.lastSeq}`);
  const now = Math.max(ctx.now, ctx.timeFloor);
  if (Date.parse(bundle.expires) <= now) throw new Refusal('expired', `expired ${bundle.expires} (now at least ${new Date(now).toISOString()})`);
  if (ctx.handEdited) throw new Refusal('base-mismatch', 'the site file was edited by hand since it was adopted; it runs at the next start');
  if (bundle.base !== 'any' && bundle.base !== ctx.runningSha256)
    throw new Refusal('base-mismatch', `written against ${bundle.base.slice(0, 19)}…, running ${ctx.runningSha256.slice(0, 19)}…`);

  const texts = Object.fromEntries(Object.entries(bundle.files).map(([n, f]) => [n, f.text]));
  const loaded = (ctx.parse ?? parseSiteText)(bundle.files[SITE_FILE]!.text, texts);
  if (!loaded.ok) throw new Refusal('schema', loaded.errors.slice(0, 3).join('; '));
  if (loaded.config.gateway.id !== ctx.gateway) throw new Refusal('wrong-gateway', `site.yaml is for gateway ${loaded.config.gateway.id}`);
  // A relative profiles: folder is read inside the slot, from the bundle's files: never from beside it.
  const outside = loaded.config.profiles.find((d) => !isAbsolute(d) && normalize(d).split('/')[0] === '..');
  if (outside !== undefined) throw new Refusal('schema', `profiles: ${outside} leaves the bundle's folder; carry the profiles in the bundle (profiles/NAME.yaml) or name an absolute folder`);

  // The remote settings locate the slots and the trust file: changed on site only, never by a push.
  if (JSON.stringify(loaded.config.remote ?? null) !== JSON.stringify(ctx.running.remote ?? null))
    throw new Refusal('schema', 'remote: these settings are changed on site only (passerelle config apply)');
  checkFlows(bundle, loaded.config);
  const role = requiredRole(ctx.running, loaded.config, bundle.base, { old: ctx.runningPoints, next: loaded.points });
  const enough = policy.count >= policy.threshold || (role.role === 'config' && config.count >= config.threshold);
  if (!enough) {
    const have = role.role === 'policy' ? `${policy.count}/${policy.threshold} policy` : `${config.count}/${config.threshold} config`;
    throw new Refusal('threshold', `${have} signatures${role.reasons.length ? ` (needs policy: ${role.reasons.join(', ')})` : ''}`);
  }
  return { bundle, config: loaded.config, role, signers, ...(loaded.points ? { points: loaded.points } : {}) };
}

/** Carried flows only for a site that runs Node-RED, and only a JSON array of nodes (what Node-RED reads). */
function checkFlows(bundle: BundlePayload, config: Config): void {
  const flows = bundle.files[FLOWS_FILE];
  if (!flows) return;
  if (!config.nodered?.enabled) throw new Refusal('schema', `${FLOWS_FILE} is carried but the site does not enable nodered`);
  let nodes: unknown;
  try {
    nodes = JSON.parse(flows.text);
  } catch {
    nodes = undefined;
  }
  if (!Array.isArray(nodes) || !nodes.every((n) => typeof n === 'object' && n !== null && typeof (n as { id?: unknown }).id === 'string'))
    throw new Refusal('schema', `${FLOWS_FILE}: not Node-RED flows (a JSON array of nodes, each with an id)`);
}

function parseSiteText(text: string): SiteParse {
  const r = loadConfigText(text, SITE_FILE);
  return r.ok ? r : { ok: false, errors: r.errors.map(formatIssue) };
}
