/**
 * What a change of config restarts, decided in this one place from the old and the new validated
 * configs. A part restarts alone only when nothing else depends on what changed:
 *
 *   policy               -> the policy is swapped (messages already queued under the old one are dropped,
 *                           as at a start); buses, store and uplink stay open
 *   uplink               -> the uplink (MQTT client) restarts; buses and store stay open
 *   buses / devices      -> the buses touched restart with their devices' drivers, as long as the pipeline
 *                           sees the same points (same names, classes, ranges, expected counts, checks);
 *                           otherwise the whole gateway restarts
 *   anything else        -> the whole gateway restarts (site, gateway id, aggregation, store)
 *
 * `remote` never changes through a push (refused as schema) and restarts nothing.
 */
import type { Config } from '../config/schema.js';

export type RestartPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'full'; readonly why: string }
  | { readonly kind: 'parts'; readonly policy: boolean; readonly uplink: boolean; readonly buses: readonly string[] };

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Sections that only a whole restart can take. */
/** The sections a running gateway takes in place (policy, uplink) or by restarting some lines (buses, devices). */
const ALONE: ReadonlySet<string> = new Set(['buses', 'devices', 'policy', 'uplink']);

/** Bus ids whose line or devices differ (added, removed or changed), old and new ids alike. */
export function changedBuses(old: Config, next: Config): string[] {
  const touched = new Set<string>();
  const byId = <T extends { id: string }>(xs: readonly T[]) => new Map(xs.map((x) => [x.id, x]));
  const [oldBuses, newBuses] = [byId(old.buses), byId(next.buses)];
  for (const id of new Set([...oldBuses.keys(), ...newBuses.keys()])) if (!same(oldBuses.get(id), newBuses.get(id))) touched.add(id);
  const [oldDevices, newDevices] = [byId(old.devices), byId(next.devices)];
  for (const id of new Set([...oldDevices.keys(), ...newDevices.keys()])) {
    const [a, b] = [oldDevices.get(id), newDevices.get(id)];
    if (same(a, b)) continue;
    // A flow's virtual device has no line: its points are the pipeline's (samePipeline decides).
    if (a?.bus !== undefined) touched.add(a.bus);
    if (b?.bus !== undefined) touched.add(b.bus);
  }
  return [...touched].sort();
}

/**
 * The restart plan from `old` to `next`. `samePipeline` says whether the pipeline's view of the points
 * is unchanged (the gateway builds the drivers of `next` to compare); only then do buses restart alone.
 */
export function restartPlan(old: Config, next: Config, samePipeline: () => boolean): RestartPlan {
  if (same(old, next)) return { kind: 'none' };
  // Only these parts can change alone; any other section (site, gateway, aggregation, store, clock, remote,
  // profiles, nodered, status or one added later) restarts the whole gateway: no change is left unapplied.
  const whole = (Object.keys({ ...old, ...next }) as (keyof Config)[]).find((k) => !ALONE.has(k) && !same(old[k], next[k]));
  if (whole) return { kind: 'full', why: `${String(whole)} changed` };
  const buses = changedBuses(old, next);
  if (buses.length > 0 && !samePipeline()) return { kind: 'full', why: 'the points seen by the pipeline changed' };
  return { kind: 'parts', policy: !same(old.policy, next.policy), uplink: !same(old.uplink, next.uplink), buses };
}
