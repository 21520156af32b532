/**
 * Which role a bundle needs, decided on the gateway from the diff of the running and the new config:
 * anything that lets more data leave the site, or moves where it goes, needs `policy` (threshold 2 by
 * default); any other change needs `config`. A forced overwrite (`base: any`) needs `policy` too.
 */
import type { Config } from '../config/schema.js';
import { NEVER_UPSTREAM, type DataClass } from '../core/types.js';

export interface RoleDecision {
  readonly role: 'config' | 'policy';
  /** Why `policy` is needed, one line per widening (empty for `config`). */
  readonly reasons: readonly string[];
}

/** `*` matches any run of characters, as in the uplink policy. */
const globRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

/** An old rule covers a new one when its glob matches the new glob itself (with only `*`, every expansion follows). */
function covered(match: string, stat: string, old: Config['policy']): boolean {
  return old.allow.some((r) => r.statistics.includes(stat as never) && globRegExp(r.match).test(match));
}

export function policyWidening(old: Config['policy'], next: Config['policy']): string[] {
  const reasons: string[] = [];
  for (const rule of next.allow)
    for (const stat of rule.statistics) if (!covered(rule.match, stat, old)) reasons.push(`policy.allow: ${rule.match} ${stat} was not allowed`);
  for (const [cls, n] of Object.entries(old.minCount)) {
    const now = next.minCount[cls as keyof typeof next.minCount];
    if (now === undefined || now < (n ?? 0)) reasons.push(`policy.minCount.${cls}: ${n} lowered to ${now ?? 'none'}`);
  }
  for (const group of next.health) if (!old.health.includes(group)) reasons.push(`policy.health: ${group} was not sent`);
  return reasons;
}

const UPLINK_FIELDS = ['broker', 'caFile', 'certFile', 'keyFile', 'usernameFile', 'passwordFile', 'topicPrefix'] as const;

export function uplinkChanges(old: Config['uplink'], next: Config['uplink']): string[] {
  return UPLINK_FIELDS.filter((f) => old[f] !== next[f]).map((f) => `uplink.${f} changed`);
}

/**
 * What decides how much of a point may leave, for every point a config reads, by `device.point`
 * (profiles and the site's own fields resolved): its data class, its measure, and how it is decoded
 * (the profile point's definition: register, type, scale; empty when the site defines the point).
 */
export interface PointFacts {
  readonly dataClass: string;
  readonly measure: string;
  readonly decode: string;
}
export type PointClasses = ReadonlyMap<string, PointFacts>;

/** What a class lets leave under a policy: never, values only from `threshold` up, or all its values. */
function release(cls: string, policy: Config['policy']): number {
  if (NEVER_UPSTREAM.has(cls as DataClass)) return Infinity;
  return policy.minCount[cls as DataClass] ?? 0;
}

/**
 * A point that keeps its name can let more leave with the policy text unchanged: a profile (or a line
 * field) turning `personal` into `energy` under `match: "*"` (its class now releases more: never ->
 * something, a higher minCount -> a lower one or none); or, for a point held back by a minCount, a new
 * measure (a counter's index sent as a gauge) or a new decoding (a scale that lifts small counts over the
 * threshold, another register).
 */
export function classWidening(old: PointClasses, next: PointClasses, oldPolicy: Config['policy'], nextPolicy: Config['policy']): string[] {
  const reasons: string[] = [];
  for (const [key, now] of next) {
    const was = old.get(key);
    if (was === undefined) continue;
    const [before, after] = [release(was.dataClass, oldPolicy), release(now.dataClass, nextPolicy)];
    if (after < before) reasons.push(`${key}: class ${was.dataClass} became ${now.dataClass}, which lets more of it leave`);
    else if (after > 0 && after !== Infinity && (was.measure !== now.measure || was.decode !== now.decode))
      reasons.push(`${key}: held back by minCount (${now.dataClass}), its ${was.measure !== now.measure ? `measure ${was.measure} became ${now.measure}` : 'decoding changed'}`);
  }
  return reasons;
}

/** `points`: the classes of both configs' points when known (the gateway resolves them with the profiles). */
export function requiredRole(running: Config, next: Config, base: string, points?: { old?: PointClasses; next?: PointClasses }): RoleDecision {
  const reasons = [
    ...(base === 'any' ? ['base: any (forced overwrite)'] : []),
    ...policyWidening(running.policy, next.policy),
    ...uplinkChanges(running.uplink, next.uplink),
    ...(points?.old && points.next ? classWidening(points.old, points.next, running.policy, next.policy) : []),
  ];
  return { role: reasons.length > 0 ? 'policy' : 'config', reasons };
}
