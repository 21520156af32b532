/**
 * Reconnect delays: exponential backoff with full jitter (delay = random * min(cap, base * 2^attempt)).
 * The jitter is the point: after a broker restart, a fleet of gateways spreads its reconnects over the
 * whole interval instead of knocking all at once, attempt after attempt.
 */
import { PasserelleError } from '../core/errors.js';

export interface BackoffOptions {
  /** Ceiling of the first delay (default 1 s). */
  readonly baseMs?: number;
  /** Ceiling of any delay (default 5 min). */
  readonly capMs?: number;
  /** Uniform in [0, 1); injected by tests. */
  readonly random?: () => number;
}

export const DEFAULT_BACKOFF_BASE_MS = 1000;
export const DEFAULT_BACKOFF_CAP_MS = 300_000;
/** 2^30 * base overflows any cap long before; stops the exponent growing without bound. */
const MAX_EXPONENT = 30;

export class JitteredBackoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.baseMs = opts.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.capMs = opts.capMs ?? DEFAULT_BACKOFF_CAP_MS;
    this.random = opts.random ?? Math.random;
    if (!(this.baseMs > 0) || !(this.capMs >= this.baseMs)) {
      throw new PasserelleError('E_UPLINK_CONFIG', `reconnect delays need 0 < base (${this.baseMs} ms) <= cap (${this.capMs} ms)`);
    }
  }

  /** The delay before the next attempt; each call counts one failed attempt. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, MAX_EXPONENT);
    return Math.floor(this.random() * ceiling);
  }

  /** After a successful connection: the next outage starts again from the base delay. */
  reset(): void {
    this.attempt = 0;
  }
}
