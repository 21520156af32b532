/**
 * What a counter (an energy or water index) consumed between two readings. Shared by the quality
 * checker (rate of change of a counter) and the aggregator (delta per window), so both agree on what a
 * rollover and a reset are. See docs/data-quality.md, "Counters".
 */

/** A drop is a rollover only if the index was in its top tenth and lands in its bottom tenth. */
export const ROLLOVER_MARGIN = 0.1;

export type CounterStep =
  | { readonly kind: 'increase'; readonly amount: number }
  | { readonly kind: 'rollover'; readonly amount: number }
  /** The index went down without a rollover: meter reset or replaced. Nothing is consumed. */
  | { readonly kind: 'reset'; readonly amount: 0 };

/**
 * `rolloverAt` is the value at which the index reads 0 again, in engineering units: the number of
 * distinct values, e.g. 1e9 for a 9-digit Linky index in Wh, 2^32 × scale for a u32 register.
 */
export function counterStep(previous: number, current: number, rolloverAt?: number): CounterStep {
  if (current >= previous) return { kind: 'increase', amount: current - previous };
  if (rolloverAt !== undefined && isRollover(previous, current, rolloverAt)) {
    return { kind: 'rollover', amount: rolloverAt - previous + current };
  }
  return { kind: 'reset', amount: 0 };
}

function isRollover(previous: number, current: number, rolloverAt: number): boolean {
  const margin = rolloverAt * ROLLOVER_MARGIN;
  return previous >= rolloverAt - margin && previous < rolloverAt && current >= 0 && current < margin;
}
