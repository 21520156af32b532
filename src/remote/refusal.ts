/** Why the gateway refused a bundle: a stable reason code (reported on the status topic) and a detail for people. */
import { PasserelleError } from '../core/errors.js';

export const REFUSAL_REASONS = [
  'too-large',
  'malformed',
  'file-path',
  'file-bound',
  'sig',
  'role',
  'threshold',
  'wrong-gateway',
  'seq',
  'expired',
  'base-mismatch',
  'schema',
  'preflight:broker',
  'preflight:nodered',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export class Refusal extends PasserelleError {
  constructor(
    readonly reason: RefusalReason,
    readonly detail: string,
  ) {
    super('E_REMOTE_REFUSED', `bundle refused (${reason}): ${detail}`);
  }
}

export const isRefusal = (e: unknown): e is Refusal => e instanceof Refusal;
