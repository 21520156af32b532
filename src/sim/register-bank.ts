/**
 * One simulated device's registers, built from its profile. Values are computed at read time from
 * the points' sim hints (see values.ts). Addresses no point (or identify register) covers, and the
 * profile's refused ranges, answer exception 2: stricter than many real devices, which answer zeros in
 * holes, so a read planner that spans holes or refused ranges is caught in tests.
 */
import { PasserelleError } from '../core/errors.js';
import { registersFor } from '../drivers/modbus/codec.js';
import type { Profile, ProfilePoint, RegisterKind } from '../profiles/schema.js';
import { servedValue, signalValue, wordsFor, type SignalContext } from './values.js';

export const EXCEPTION = { illegalFunction: 1, illegalAddress: 2, illegalValue: 3 } as const;

/** Protocol maxima per read (Modbus application protocol 1.1b3). */
const MAX_REGISTERS = 125;
const MAX_BITS = 2000;

export type ReadResult = number[] | { exception: number };

export interface Served {
  /** What a client decoding the served words reads (null if the words decode to no-sensor/decode). */
  readonly value: number | null;
  readonly atMs: number;
}

export interface RegisterBank {
  readonly profile: Profile;
  /** Words (or 0/1 bits for coils and discrete inputs) at the current time, or a Modbus exception code. */
  read(kind: RegisterKind, address: number, count: number): ReadResult;
  /** The value a client decodes if it reads this point at atMs (counters: unless the clock went backwards). */
  expectedValue(pointName: string, atMs: number): number | null;
  /** The last value served for this point, and when; undefined before its first read. */
  lastServed(pointName: string): Served | undefined;
}

export interface RegisterBankOptions {
  /** Decorrelates simulated devices; same seed, same values. Default 1. */
  seed?: number;
  /** Clock, ms since epoch. Default Date.now. */
  now?: () => number;
}

interface Slot {
  readonly point?: ProfilePoint;
  /** Word index inside the point, or the fixed value of an identify register. */
  readonly wordIndex: number;
  readonly fixed?: number;
}

const isBitKind = (kind: RegisterKind): boolean => kind === 'coil' || kind === 'discrete';

function buildSlots(profile: Profile): Map<RegisterKind, Map<number, Slot>> {
  const slots = new Map<RegisterKind, Map<number, Slot>>();
  const kindSlots = (kind: RegisterKind): Map<number, Slot> => {
    let m = slots.get(kind);
    if (!m) slots.set(kind, (m = new Map()));
    return m;
  };
  // Identify registers answer so that a scan finds the simulated model; points take precedence.
  for (const id of profile.identify) kindSlots(id.kind).set(id.address, { wordIndex: 0, fixed: id.equals ?? 0 });
  for (const point of profile.points) {
    for (let i = 0; i < registersFor(point.type); i++) kindSlots(point.kind).set(point.address + i, { point, wordIndex: i });
  }
  return slots;
}

function isRefused(profile: Profile, kind: RegisterKind, first: number, last: number): boolean {
  return profile.limits.refuse.some((r) => r.kind === kind && r.start <= last && r.end >= first);
}

export function createRegisterBank(profile: Profile, opts: RegisterBankOptions = {}): RegisterBank {
  const seed = opts.seed ?? 1;
  const now = opts.now ?? Date.now;
  const originMs = now();
  const slots = buildSlots(profile);
  const byName = new Map(profile.points.map((point, index) => [point.name, { point, ctx: { seed, index, originMs } satisfies SignalContext }]));
  const served = new Map<string, Served>();
  /** Highest value each counter has served: a counter never goes back, even if the clock does. */
  const counterFloor = new Map<string, number>();

  const entry = (name: string) => {
    const e = byName.get(name);
    if (!e) throw new PasserelleError('E_SIM_POINT', `profile ${profile.id} has no point "${name}"`);
    return e;
  };

  function wordsAt(point: ProfilePoint, atMs: number): number[] {
    const { ctx } = entry(point.name);
    let value = signalValue(point, ctx, atMs);
    if (point.measure === 'counter') {
      value = Math.max(value, counterFloor.get(point.name) ?? value);
      counterFloor.set(point.name, value);
    }
    return wordsFor(point, value);
  }

  function read(kind: RegisterKind, address: number, count: number): ReadResult {
    const max = isBitKind(kind) ? Math.min(MAX_BITS, profile.limits.maxBitsPerRead) : Math.min(MAX_REGISTERS, profile.limits.maxRegistersPerRead);
    if (!Number.isInteger(count) || count < 1 || count > max) return { exception: EXCEPTION.illegalValue };
    const last = address + count - 1;
    if (!Number.isInteger(address) || address < 0 || last > 0xffff || isRefused(profile, kind, address, last)) {
      return { exception: EXCEPTION.illegalAddress };
    }
    const kindSlots = slots.get(kind);
    const atMs = now();
    const pointWords = new Map<string, number[]>();
    const out: number[] = [];
    for (let a = address; a <= last; a++) {
      const slot = kindSlots?.get(a);
      if (!slot) return { exception: EXCEPTION.illegalAddress };
      if (!slot.point) {
        out.push(slot.fixed ?? 0);
        continue;
      }
      let words = pointWords.get(slot.point.name);
      if (!words) pointWords.set(slot.point.name, (words = wordsAt(slot.point, atMs)));
      out.push(words[slot.wordIndex]!);
    }
    for (const [name, words] of pointWords) served.set(name, { value: servedValue(entry(name).point, words), atMs });
    return out;
  }

  return {
    profile,
    read,
    expectedValue(pointName, atMs) {
      const { point, ctx } = entry(pointName);
      return servedValue(point, wordsFor(point, signalValue(point, ctx, atMs)));
    },
    lastServed(pointName) {
      entry(pointName); // unknown names throw rather than look like "not read yet"
      return served.get(pointName);
    },
  };
}
