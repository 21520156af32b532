import type { PolicyConfig } from '../config/schema.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { WindowSummary } from '../core/types.js';
import { applyPolicy } from './policy.js';
import { encodeSummary } from './senml-split.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type SenmlFormat } from './senml-types.js';

/**
 * What the gateway enqueues for one window: policy, then SenML, then encoding, then split.
 * A window the policy leaves empty yields no message (sobriety: liveness is on the state topic), unless
 * the gateway dropped data since the previous summary: that is reported.
 * Ids are deterministic (summary.id, or summary.id#k when split), so re-enqueueing a window is a no-op.
 */
export function buildOutboxMessages(
  summary: WindowSummary,
  policy: PolicyConfig,
  format: SenmlFormat,
  topic: string,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): OutboxMessage[] {
  const allowed = applyPolicy(summary, policy);
  const dropped = (summary.drops?.raw ?? 0) + (summary.drops?.summaries ?? 0);
  // Drops and a crash gap go up even from a window the policy leaves empty: a gap must never be silent.
  if (allowed.points.length === 0 && dropped === 0 && !(summary.recovered && summary.recovered.lost > 0)) return [];
  return encodeSummary(allowed, format, maxBytes).map((part) => ({
    id: part.id,
    topic,
    payload: part.payload,
    createdAt: summary.end,
  }));
}
