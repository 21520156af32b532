/**
 * Bounds the publish rate: a bucket of `burst` tokens refilled at `ratePerSecond`. A gateway back from a
 * long outage drains its backlog at this rate, so a fleet coming back does not flood the broker.
 */
import { PasserelleError } from '../core/errors.js';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new PasserelleError('E_UPLINK_CONFIG', `the publish rate must be positive and the burst at least 1 (got ${ratePerSecond}/s, burst ${burst})`);
    }
    this.tokens = burst;
    this.last = now();
  }

  /** Takes a token if one is available. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token (0 when one is available). */
  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSecond) / 1000);
    this.last = t;
  }
}
