/**
 * The site policy decides what may leave the gateway. Nothing leaves unless an `allow` rule matches;
 * identifier and personal classes never leave, whatever the rules say. `minCount` thresholds apply to
 * VALUES: for a class with a threshold (occupancy: 5), a value statistic below it is omitted, so a
 * room with 2 people is never reported as 2; the point's quality figures (count, completeness) stay.
 */
import type { PolicyConfig } from '../config/schema.js';
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

type MutablePointSummary = { -readonly [K in keyof PointSummary]: PointSummary[K] };

/** `*` matches any run of characters (dots included, possibly none); every other character is literal. */
export function globToRegExp(glob: string): RegExp {
  const literal = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`);
}

interface CompiledRule {
  readonly pattern: RegExp;
  readonly statistics: readonly Statistic[];
}

/** Compiles the rules once; the returned function is pure. */
export function compilePolicy(policy: PolicyConfig): (summary: WindowSummary) => WindowSummary {
  const rules: CompiledRule[] = policy.allow.map((r) => ({ pattern: globToRegExp(r.match), statistics: r.statistics }));
  const allowedFor = (point: PointSummary): Set<Statistic> => {
    const key = pointKey(point.device, point.point);
    return new Set(rules.filter((r) => r.pattern.test(key)).flatMap((r) => r.statistics));
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

/** Applies the site policy to one summary (see compilePolicy to reuse the compiled rules). */
export function applyPolicy(summary: WindowSummary, policy: PolicyConfig): WindowSummary {
  return compilePolicy(policy)(summary);
}

function keepAllowedStatistics(point: PointSummary, allowed: ReadonlySet<Statistic>, threshold: number | undefined): PointSummary {
  const kept: MutablePointSummary = { ...point, bad: { ...point.bad } };
  for (const statistic of VALUE_STATISTICS) {
    if (!allowed.has(statistic) || revealsSmallCount(point[statistic], threshold)) delete kept[statistic];
  }
  return kept;
}

/**
 * A value under the class threshold could single people out. A text value cannot be compared with a
 * threshold, so under one it is withheld too.
 */
function revealsSmallCount(value: number | string | undefined, threshold: number | undefined): boolean {
  if (threshold === undefined || value === undefined) return false;
  return typeof value === 'string' || value < threshold;
}
