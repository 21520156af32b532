import type { PolicyConfig } from '../config/schema.js';
import { PasserelleError } from '../core/errors.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { WindowSummary } from '../core/types.js';
import { applyPolicy, policyHash } from './policy.js';
import { fitPoints } from './senml-fit.js';
import { encodeSummary, type EncodedPart } from './senml-split.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type SenmlFormat } from './senml-types.js';

export interface WindowMessages {
  readonly messages: OutboxMessage[];
  /** Points cut or left out because one alone could not fit maxBytes (see senml-fit.ts). */
  readonly pointsCut: number;
}

/**
 * What the gateway enqueues for one window: policy, then SenML, then encoding, then split.
 * A window the policy leaves empty yields no message (sobriety: liveness is on the state topic), unless
 * the gateway dropped data since the previous summary and `policy.health` lists `drops`: that is reported.
 * Every message carries the policy's hash (the outbox re-checks it on start).
 * Ids are deterministic (summary.id, or summary.id#k when split), so re-enqueueing a window is a no-op.
 */
export function buildWindowMessages(
  summary: WindowSummary,
  policy: PolicyConfig,
  format: SenmlFormat,
  topic: string,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): WindowMessages {
  // Drop counts are health figures: they leave only under `policy.health: [drops]`, like the rest.
  const reportDrops = policy.health.includes('drops');
  const keepDropsLocal = (s: WindowSummary): WindowSummary => (reportDrops ? s : withoutDrops(s));
  const allowed = keepDropsLocal(applyPolicy(summary, policy));
  const dropped = reportDrops ? (summary.drops?.raw ?? 0) + (summary.drops?.summaries ?? 0) : 0;
  // A crash gap travels with the points it concerns (like completeness); alone, it is a health figure.
  const gap = reportDrops && (summary.recovered?.lost ?? 0) > 0;
  // Allowed drops and gaps go up even from a window the policy leaves empty: a gap must never be silent.
  if (allowed.points.length === 0 && dropped === 0 && !gap) return { messages: [], pointsCut: 0 };
  let parts: EncodedPart[];
  let pointsCut = 0;
  try {
    parts = encodeSummary(allowed, format, maxBytes);
  } catch (e) {
    // Rare (a point alone over the bound, an id SenML cannot carry): only then is each point measured.
    if (!(e instanceof PasserelleError) || !['E_SENML_TOO_LARGE', 'E_SENML_NAME'].includes(e.code)) throw e;
    const fitted = fitPoints(allowed, format, maxBytes);
    pointsCut = fitted.pointsCut;
    parts = encodeSummary(keepDropsLocal(fitted.summary), format, maxBytes);
  }
  const hash = policyHash(policy);
  const messages = parts.map((part) => ({ id: part.id, topic, payload: part.payload, createdAt: summary.end, policy: hash }));
  return { messages, pointsCut };
}

function withoutDrops(summary: WindowSummary): WindowSummary {
  const copy: { -readonly [K in keyof WindowSummary]: WindowSummary[K] } = { ...summary };
  delete copy.drops;
  return copy;
}

/** buildWindowMessages, messages only. */
export function buildOutboxMessages(
  summary: WindowSummary,
  policy: PolicyConfig,
  format: SenmlFormat,
  topic: string,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): OutboxMessage[] {
  return buildWindowMessages(summary, policy, format, topic, maxBytes).messages;
}
