/**
 * Encodes one window as one or more SenML messages no larger than maxBytes. A point's records are
 * never split across messages; every part repeats the header (bn, bt, window start) and carries the
 * msg-id `<summary id>#<k>` so a receiver can tell the parts of a window apart.
 */
import { PasserelleError } from '../core/errors.js';
import type { WindowSummary } from '../core/types.js';
import { bodyGroups, senmlHeader } from './senml-build.js';
import { encodeSenml } from './senml-codec.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type SenmlFormat, type SenmlRecord } from './senml-types.js';

export interface EncodedPart {
  /** summary.id when the window fits one message, else `<summary.id>#<k>` with k from 1. */
  readonly id: string;
  readonly payload: Buffer;
}

export const partId = (summaryId: string, k: number): string => `${summaryId}#${k}`;

export function encodeSummary(
  summary: WindowSummary,
  format: SenmlFormat,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): EncodedPart[] {
  const groups = bodyGroups(summary);
  const whole = encodeSenml([...senmlHeader(summary, summary.id), ...groups.flat()], format);
  if (whole.length <= maxBytes) return [{ id: summary.id, payload: whole }];

  const encodePart = (k: number, part: SenmlRecord[][]): Buffer =>
    encodeSenml([...senmlHeader(summary, partId(summary.id, k)), ...part.flat()], format);
  const parts: SenmlRecord[][][] = [];
  let current: SenmlRecord[][] = [];
  for (const group of groups) {
    const candidate = [...current, group];
    // Measure the real encoding: JSON and CBOR sizes are not additive per record (CBOR array headers grow).
    if (current.length > 0 && encodePart(parts.length + 1, candidate).length > maxBytes) {
      parts.push(current);
      current = [group];
    } else {
      current = candidate;
    }
  }
  parts.push(current);
  return parts.map((part, i) => {
    const payload = encodePart(i + 1, part);
    if (payload.length > maxBytes) {
      throw new PasserelleError(
        'E_SENML_TOO_LARGE',
        `One point of window ${summary.id} needs ${payload.length} bytes, more than the ${maxBytes}-byte message bound`,
      );
    }
    return { id: partId(summary.id, i + 1), payload };
  });
}
