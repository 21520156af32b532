/**
 * The compact health message of one window, on `<prefix>/<site>/<gateway>/health`, as SenML like the
 * summaries (same base name, base time = window end). Subject to the policy: only the groups listed in
 * `policy.health` leave; none by default, like everything else.
 *
 *   health/bus/<bus>/<counter>   counters over the window (requests, timeouts, crc, exceptions, ...)
 *   health/serial/<device>/<counter>   a serial meter's counters over the window (checksum errors,
 *                                reopens, noise, ...), in the buses group
 *   health/outbox/refused        summaries the broker refused for good, set aside (store group)
 *   health/store/bytes (B), health/store/flash-bytes-per-day (B written to storage per day by the
 *   gateway process, from the kernel's count; absent in the first message), health/outbox/pending
 *   health/drops/raw, health/drops/summaries   what the store had to drop at its caps
 *   health/drops/points          points cut from summaries, too large for one message
 *   health/clock/synced (vb)     whether the system clock is synchronised (windows depend on it)
 */
import type { OutboxMessage } from '../core/outbox.js';
import { PasserelleError } from '../core/errors.js';
import { senmlBaseName } from './senml-build.js';
import { encodeSenml } from './senml-codec.js';
import { DEFAULT_MAX_MESSAGE_BYTES, isValidSenmlName, type SenmlFormat, type SenmlRecord } from './senml-types.js';

/** What `policy.health` may list. The config schema repeats this list (it may not import the uplink). */
export { HEALTH_GROUPS, type HealthGroup } from '../core/types.js';
import { HEALTH_GROUPS, type HealthGroup } from '../core/types.js';

export interface HealthInput {
  readonly site: string;
  readonly gateway: string;
  /** Window bounds, ms since epoch, [start, end). */
  readonly start: number;
  readonly end: number;
  /** Per bus id: counters over the window (see windowDeltas), e.g. requests, timeouts, crc, exceptions. */
  readonly buses: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Per serial device (TIC, SDI-12, M-Bus, ASCII lines): its driver's counters over the window. */
  readonly serial?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly storeBytes: number;
  readonly outboxPending: number;
  /** Summaries set aside as refused for good by the broker, still held for the audit trail. */
  readonly outboxRefused?: number;
  /** Bytes the gateway process writes to storage per day (SD card wear); undefined when not known yet. */
  readonly flashBytesPerDay?: number | undefined;
  /** points: points cut from summary messages, too large for one (see senml-fit.ts). */
  readonly drops: { readonly raw: number; readonly summaries: number; readonly points?: number };
  readonly clockSynced: boolean;
}

export interface HealthPolicy {
  readonly health?: readonly HealthGroup[];
}

export const healthMessageId = (site: string, gateway: string, start: number): string => `${site}:${gateway}:health:${start}`;

/** Zero or one message: none when the policy allows no health group. */
export function buildHealthMessages(
  input: HealthInput,
  policy: HealthPolicy,
  format: SenmlFormat,
  topic: string,
  maxBytes: number = DEFAULT_MAX_MESSAGE_BYTES,
): OutboxMessage[] {
  const allowed = new Set(policy.health ?? []);
  if (allowed.size === 0) return [];
  const id = healthMessageId(input.site, input.gateway, input.start);
  const records = [...healthHeader(input, id), ...HEALTH_GROUPS.filter((g) => allowed.has(g)).flatMap((g) => GROUP_RECORDS[g](input))];
  const payload = encodeSenml(records, format);
  if (payload.length > maxBytes) {
    throw new PasserelleError('E_SENML_TOO_LARGE', `The health message of window ${id} needs ${payload.length} bytes, more than the ${maxBytes}-byte bound`);
  }
  return [{ id, topic, payload, createdAt: input.end }];
}

function healthHeader(input: HealthInput, id: string): SenmlRecord[] {
  return [
    { bn: senmlBaseName(input.site, input.gateway), bt: input.end / 1000, n: 'msg-id', vs: id },
    { n: 'window-start', v: input.start / 1000, u: 's' },
  ];
}

const GROUP_RECORDS: Readonly<Record<HealthGroup, (input: HealthInput) => SenmlRecord[]>> = {
  buses: (input) =>
    Object.keys(input.buses)
      .sort()
      .flatMap((bus) => counterRecords(`health/bus/${bus}/`, input.buses[bus]!))
      .concat(
        Object.keys(input.serial ?? {})
          .sort()
          .flatMap((device) => counterRecords(`health/serial/${device}/`, input.serial![device]!)),
      ),
  store: (input) => [
    { n: 'health/store/bytes', u: 'B', v: input.storeBytes },
    ...(input.flashBytesPerDay === undefined ? [] : [{ n: 'health/store/flash-bytes-per-day', u: 'B', v: input.flashBytesPerDay }]),
    { n: 'health/outbox/pending', v: input.outboxPending },
    ...((input.outboxRefused ?? 0) > 0 ? [{ n: 'health/outbox/refused', v: input.outboxRefused! }] : []),
  ],
  // Like the bus error counters, drops are news only when there are some.
  drops: (input) => [
    ...(input.drops.raw > 0 ? [{ n: 'health/drops/raw', v: input.drops.raw }] : []),
    ...(input.drops.summaries > 0 ? [{ n: 'health/drops/summaries', v: input.drops.summaries }] : []),
    ...((input.drops.points ?? 0) > 0 ? [{ n: 'health/drops/points', v: input.drops.points! }] : []),
  ],
  clock: (input) => [{ n: 'health/clock/synced', vb: input.clockSynced }],
};

/** Sobriety: a zero error counter says nothing, so only `requests` and non-zero counters are sent. */
const ALWAYS_SENT = new Set(['requests']);

function counterRecords(prefix: string, counters: Readonly<Record<string, number>>): SenmlRecord[] {
  return Object.keys(counters)
    .sort()
    .filter((name) => Number.isFinite(counters[name]) && (counters[name] !== 0 || ALWAYS_SENT.has(name)))
    .filter((name) => isValidSenmlName(`x${prefix}${name}`))
    .map((name) => ({ n: prefix + name, v: counters[name]! }));
}

/**
 * Counters over one window from two snapshots of cumulative counters. A counter that went down (its
 * source was restarted) counts from zero: the new value is what happened since.
 */
export function windowDeltas(previous: Readonly<Record<string, number>>, current: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, now] of Object.entries(current)) {
    const before = previous[name] ?? 0;
    out[name] = now >= before ? now - before : now;
  }
  return out;
}
