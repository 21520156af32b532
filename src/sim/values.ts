/**
 * What a simulated point shows at a given time, as pure functions of (point, seed, time):
 * the same inputs always give the same value, so a test can recompute what the simulator served.
 */
import { decodePoint, encodeValue, valueRange } from '../drivers/modbus/codec.js';
import type { ProfilePoint } from '../profiles/schema.js';

/** Noise is this fraction of the amplitude and changes once per second (sensors refresh about that often). */
const NOISE_FRACTION = 0.05;
const NOISE_STEP_MS = 1000;

/** Deterministic hash of three integers to [0, 1) (a small avalanche mix; not cryptographic). */
export function unitHash(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b ^ 0xc2b2ae35, 0x27d4eb2f) ^ Math.imul(c, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return ((h ^ (h >>> 15)) >>> 0) / 0x1_0000_0000;
}

export interface SignalContext {
  readonly seed: number;
  /** Position of the point in its profile: decorrelates points with the same hints. */
  readonly index: number;
  /** Time counters start from (ms since epoch). */
  readonly originMs: number;
}

const clamp = (v: number, [min, max]: readonly [number, number]): number => Math.min(max, Math.max(min, v));

/** Engineering value before quantisation: a counter grows linearly; a gauge is a sine plus small noise. */
export function signalValue(point: ProfilePoint, ctx: SignalContext, atMs: number): number {
  const sim = point.sim;
  if (!sim) return point.range ? clamp(0, point.range) : 0;
  if (point.measure === 'counter' || sim.ratePerHour !== undefined) {
    const elapsedH = Math.max(0, atMs - ctx.originMs) / 3_600_000;
    return Math.max(sim.base, sim.base + (sim.ratePerHour ?? 0) * elapsedH);
  }
  const periodMs = sim.periodS * 1000;
  const phaseMs = unitHash(ctx.seed, ctx.index, 0x5eed) * periodMs;
  const wave = Math.sin((2 * Math.PI * (atMs + phaseMs)) / periodMs);
  const noise = (unitHash(ctx.seed, ctx.index, Math.floor(atMs / NOISE_STEP_MS)) * 2 - 1) * NOISE_FRACTION;
  const value = sim.base + sim.amplitude * (wave + noise);
  return point.range ? clamp(value, point.range) : value;
}

/** Registers carrying an engineering value: inverse scale/offset, rounded and clamped to the type. */
export function wordsFor(point: ProfilePoint, value: number): number[] {
  let raw = (value - point.offset) / point.scale;
  if (point.type === 'bool') raw = raw >= 0.5 ? 1 : 0;
  else if (point.type !== 'f32') raw = clamp(Math.round(raw), valueRange(point.type));
  return encodeValue(raw, point.type, point.order);
}

/** What a client decoding these words must read: the served value after quantisation. */
export function servedValue(point: ProfilePoint, words: readonly number[]): number | null {
  return decodePoint(words, point).value;
}
