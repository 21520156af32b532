/**
 * The site policy decides what may leave the gateway. Nothing leaves unless an `allow` rule matches;
 * identifier and personal classes never leave, whatever the rules say. `minCount` thresholds protect
 * VALUES, decided per point and window against every combination of what is sent (README.md, "minCount"):
 * - a gauge (occupancy: people in a room) sends its value statistics only when every one of them is at
 *   or above the threshold (then so is every reading, as min is the smallest), else none of them: with
 *   count, mean, min, max or last, arithmetic (count × mean − max, ...) would recover a hidden reading;
 * - a counter (people entering) sends only its consumption (`delta`), and only at or above the
 *   threshold: its index (min, max, mean, last) never leaves, as the difference of two indexes, in one
 *   window or across windows, is a consumption.
 * Quality figures (count, completeness, bad counts) always stay with a kept point.
 */
import { createHash } from 'node:crypto';
import type { PolicyConfig } from '../config/schema.js';
import { compileGlob, type GlobMatcher } from '../core/glob.js';
import {
  NEVER_UPSTREAM,
  pointKey,
  type PointSummary,
  type Statistic,
  type WindowSummary,
} from '../core/types.js';

/**
 * Statistics that carry measured values and are removed unless allowed. `count` (good readings),
 * `expected` and the bad counts are quality figures: a kept point always keeps them, so the
 * receiver can judge what the values are worth.
 */
export const VALUE_STATISTICS = ['min', 'max', 'mean', 'last', 'delta'] as const satisfies readonly Statistic[];
type ValueStatistic = (typeof VALUE_STATISTICS)[number];

/** What a counter may send under a threshold: its consumption, never its index. */
const COUNTER_STATISTICS: readonly ValueStatistic[] = ['delta'];

/**
 * Allowed sets are cached per point key. Keys come from the site config, so the cache is small; past
 * this bound (a bug feeding arbitrary keys) sets are computed each time rather than kept.
 */
const MAX_CACHED_KEYS = 10_000;

type MutablePointSummary = { -readonly [K in keyof PointSummary]: PointSummary[K] };

interface CompiledRule {
  readonly matches: GlobMatcher;
  readonly statistics: readonly Statistic[];
}

export type CompiledPolicy = (summary: WindowSummary) => WindowSummary;

/** Compiles the rules once; the returned function is pure (its cache holds only what the rules decide). */
export function compilePolicy(policy: PolicyConfig): CompiledPolicy {
  const rules: CompiledRule[] = policy.allow.map((r) => ({ matches: compileGlob(r.match), statistics: r.statistics }));
  const cache = new Map<string, ReadonlySet<Statistic>>();
  const allowedFor = (point: PointSummary): ReadonlySet<Statistic> => {
    const key = pointKey(point.device, point.point);
    const cached = cache.get(key);
    if (cached) return cached;
    const allowed = new Set(rules.filter((r) => r.matches(key)).flatMap((r) => r.statistics));
    if (cache.size < MAX_CACHED_KEYS) cache.set(key, allowed);
    return allowed;
  };
  return (summary) => {
    const points: PointSummary[] = [];
    for (const point of summary.points) {
      if (NEVER_UPSTREAM.has(point.dataClass)) continue;
      const allowed = allowedFor(point);
      if (allowed.size === 0) continue;
      points.push(keepAllowedStatistics(point, allowed, policy.minCount[point.dataClass]));
    }
    return { ...summary, points };
  };
}

/** One compiled policy per config object: the gateway calls applyPolicy every window. */
const compiled = new WeakMap<PolicyConfig, CompiledPolicy>();

/** Applies the site policy to one summary, compiling it once per policy object. */
export function applyPolicy(summary: WindowSummary, policy: PolicyConfig): WindowSummary {
  let apply = compiled.get(policy);
  if (!apply) compiled.set(policy, (apply = compilePolicy(policy)));
  return apply(summary);
}

function keepAllowedStatistics(point: PointSummary, allowed: ReadonlySet<Statistic>, threshold: number | undefined): PointSummary {
  const kept: MutablePointSummary = { ...point, bad: { ...point.bad } };
  const releasable = releasableValues(point, threshold);
  for (const statistic of VALUE_STATISTICS) {
    if (!allowed.has(statistic) || !releasable.has(statistic)) delete kept[statistic];
  }
  return kept;
}

const ALL_VALUES: ReadonlySet<ValueStatistic> = new Set(VALUE_STATISTICS);
const NONE: ReadonlySet<ValueStatistic> = new Set();

/**
 * The value statistics of one point that may leave under the class threshold, decided on the whole
 * point (allowed or not), never statistic by statistic. A text value cannot be compared with a
 * threshold, and NaN compares with nothing: either withholds everything (`!(v >= t)`, not `v < t`).
 */
function releasableValues(point: PointSummary, threshold: number | undefined): ReadonlySet<ValueStatistic> {
  if (threshold === undefined) return ALL_VALUES;
  if (point.measure === 'counter') {
    return atOrAbove(point.delta, threshold) ? new Set(COUNTER_STATISTICS) : NONE;
  }
  const present = VALUE_STATISTICS.map((s) => point[s]).filter((v) => v !== undefined);
  return present.every((v) => atOrAbove(v, threshold)) ? ALL_VALUES : NONE;
}

function atOrAbove(value: number | string | undefined, threshold: number): boolean {
  return typeof value === 'number' && value >= threshold;
}

/**
 * A short stable hash of what the policy lets out (rules, thresholds, health groups), stored with each
 * queued message: the same policy written in another key order hashes the same.
 */
export function policyHash(policy: PolicyConfig): string {
  let hash = hashes.get(policy);
  if (!hash) hashes.set(policy, (hash = createHash('sha256').update(stableJson(policy)).digest('hex').slice(0, 32)));
  return hash;
}

const hashes = new WeakMap<PolicyConfig, string>();

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
