/**
 * One simulated device's registers, built from its profile. Values are computed at read time from
 * the points' sim hints (see values.ts), unless a client wrote a holding register or coil (then the
 * written words are served until the bank is dropped).
 *
 * Unmapped addresses (no point or identify register):
 *  - 'zero' (default): answered with zeros, as real meters such as the SDM630 do between their documented
 *    registers, up to UNMAPPED_MARGIN addresses past the highest mapped address of that register kind;
 *  - 'refuse': answered with exception 2, so tests of hole learning catch a plan that reads through holes.
 * Always exception 2: the profile's `limits.refuse` ranges, a register kind the profile does not map at
 * all, and addresses beyond the margin.
 */
import { PasserelleError } from '../core/errors.js';
import { registersFor } from '../drivers/modbus/codec.js';
import type { Profile, ProfilePoint, RegisterKind } from '../profiles/schema.js';
import { servedValue, signalValue, wordsFor, type SignalContext } from './values.js';

export const EXCEPTION = { illegalFunction: 1, illegalAddress: 2, illegalValue: 3 } as const;

/** Protocol maxima per read (Modbus application protocol 1.1b3). */
const MAX_REGISTERS = 125;
const MAX_BITS = 2000;
/** With unmapped 'zero': how far past the highest mapped address of a kind zeros are still served. */
export const UNMAPPED_MARGIN = 16;

export type ReadResult = number[] | { exception: number };
export type WriteResult = { ok: true } | { exception: number };
export type Unmapped = 'zero' | 'refuse';

/** One device a simulator serves (TCP or RTU). */
export interface SimulatedDevice {
  unit: number;
  profile: Profile;
  seed?: number;
  /** What unmapped addresses answer. Default 'zero'. */
  unmapped?: Unmapped;
}

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
  /**
   * Writes words (holding) or 0/1 bits (coil) from `address`. Every address written must belong to a point
   * of that kind (exception 2 otherwise); input registers and discrete inputs are read-only (exception 1).
   */
  write(kind: RegisterKind, address: number, values: readonly number[]): WriteResult;
}

export interface RegisterBankOptions {
  /** Decorrelates simulated devices; same seed, same values. Default 1. */
  seed?: number;
  /** Clock, ms since epoch. Default Date.now. */
  now?: () => number;
  /** What unmapped addresses answer (see the file comment). Default 'zero'. */
  unmapped?: Unmapped;
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

/** Highest mapped address per kind, to bound where unmapped addresses still answer zeros. */
function highestMapped(slots: Map<RegisterKind, Map<number, Slot>>): Map<RegisterKind, number> {
  return new Map([...slots].map(([kind, m]) => [kind, Math.max(...m.keys())]));
}

function isRefused(profile: Profile, kind: RegisterKind, first: number, last: number): boolean {
  return profile.limits.refuse.some((r) => r.kind === kind && r.start <= last && r.end >= first);
}

export function createRegisterBank(profile: Profile, opts: RegisterBankOptions = {}): RegisterBank {
  const seed = opts.seed ?? 1;
  const now = opts.now ?? Date.now;
  const originMs = now();
  const slots = buildSlots(profile);
  const unmapped = opts.unmapped ?? 'zero';
  const highest = highestMapped(slots);
  /** Words written by clients, by kind then address; they replace the simulated signal. */
  const written = new Map<RegisterKind, Map<number, number>>();
  const byName = new Map(profile.points.map((point, index) => [point.name, { point, ctx: { seed, index, originMs } satisfies SignalContext }]));
  const served = new Map<string, Served>();
  /** Highest value each counter has served: a counter never goes back, even if the clock does. */
  const counterFloor = new Map<string, number>();

  const entry = (name: string) => {
    const e = byName.get(name);
    if (!e) throw new PasserelleError('E_SIM_POINT', `profile ${profile.id} has no point "${name}"`);
    return e;
  };

  /** Simulated words, with any written word in its place. */
  function withWrites(point: ProfilePoint, words: number[]): number[] {
    const overrides = written.get(point.kind);
    return overrides ? words.map((w, i) => overrides.get(point.address + i) ?? w) : words;
  }

  function wordsAt(point: ProfilePoint, atMs: number): number[] {
    const { ctx } = entry(point.name);
    let value = signalValue(point, ctx, atMs);
    if (point.measure === 'counter') {
      value = Math.max(value, counterFloor.get(point.name) ?? value);
      counterFloor.set(point.name, value);
    }
    return withWrites(point, wordsFor(point, value));
  }

  /** Unmapped address: zeros near the map, exception 2 elsewhere (see the file comment). */
  const servesZero = (kind: RegisterKind, address: number): boolean =>
    unmapped === 'zero' && highest.has(kind) && address <= highest.get(kind)! + UNMAPPED_MARGIN;

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
      if (!slot) {
        if (!servesZero(kind, a)) return { exception: EXCEPTION.illegalAddress };
        out.push(0);
        continue;
      }
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

  function write(kind: RegisterKind, address: number, values: readonly number[]): WriteResult {
    if (kind !== 'holding' && kind !== 'coil') return { exception: EXCEPTION.illegalFunction };
    const max = kind === 'coil' ? MAX_BITS : MAX_REGISTERS;
    const valid = values.length >= 1 && values.length <= max && values.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffff);
    if (!valid) return { exception: EXCEPTION.illegalValue };
    const kindSlots = slots.get(kind);
    for (let a = address; a < address + values.length; a++) {
      if (!kindSlots?.get(a)?.point || isRefused(profile, kind, a, a)) return { exception: EXCEPTION.illegalAddress };
    }
    let overrides = written.get(kind);
    if (!overrides) written.set(kind, (overrides = new Map()));
    values.forEach((v, i) => overrides.set(address + i, kind === 'coil' ? (v ? 1 : 0) : v));
    return { ok: true };
  }

  return {
    profile,
    read,
    write,
    expectedValue(pointName, atMs) {
      const { point, ctx } = entry(pointName);
      return servedValue(point, withWrites(point, wordsFor(point, signalValue(point, ctx, atMs))));
    },
    lastServed(pointName) {
      entry(pointName); // unknown names throw rather than look like "not read yet"
      return served.get(pointName);
    },
  };
}
