/**
 * Technician's line scan: which unit ids answer on a line, and which profile each one likely is.
 *
 * Presence: a cheap read of register 0 (function 3, then 4 if 3 got no answer). Data or a Modbus exception
 * both prove a device is there, EXCEPT the gateway exceptions 10 and 11: a TCP-to-RTU gateway sends them
 * for a unit that did not answer behind it. Identity: a profile matches when every one of its `identify`
 * registers can be read and equals its expected value where one is given, AND the device serves at least one
 * of its points plausibly (decoded, non-zero, inside the point's range): many devices answer zeros for
 * registers they lack rather than an exception, so a readable register alone proves little. Profiles sharing
 * the same identify registers (SDM630 and SDM120) are told apart the same way: most plausible points wins,
 * then the larger share of the profile.
 */
import { describeSerialOpenError } from '../../bus/serial-errors.js';
import { accessSync, constants } from 'node:fs';
import { silentLogger } from '../../core/logger.js';
import { PasserelleError, errorMessage } from '../../core/errors.js';
import { ModbusBus } from '../../bus/modbus-bus.js';
import { ModbusFailure, type Endpoint } from '../../bus/modbus-client.js';
import type { Profile, ProfilePoint } from '../../profiles/schema.js';
import { decodePoint } from './codec.js';
import { FUNCTION_OF, planDevice, pointWidth } from './device-plan.js';
import { requestCostMs, t35Ms, type LineTiming, type ReadFunction } from './wire-cost.js';

/** What a scan needs from a line: one read with its own timeout. Throws ModbusFailure. */
export interface ProbeLine {
  read(unit: number, fn: ReadFunction, address: number, count: number, timeoutMs: number): Promise<number[]>;
  close(): Promise<void>;
}

/** Gateway path unavailable / gateway target failed to respond: "nobody there", not an answer. */
const GATEWAY_EXCEPTIONS: ReadonlySet<number> = new Set([10, 11]);
const PROBE_FUNCTIONS: readonly ReadFunction[] = [3, 4];
export const MIN_UNIT_ID = 1;
export const MAX_UNIT_ID = 255;

export type ProbeOutcome =
  | { readonly present: true; readonly fn: ReadFunction; readonly exceptionCode?: number }
  | { readonly present: false; readonly garbled: boolean };

export interface ModelGuess {
  readonly profile: string;
  readonly manufacturer: string;
  readonly model: string;
  /** Points of the profile the device served with a plausible value, out of all its points. */
  readonly pointsPlausible: number;
  readonly pointsTotal: number;
}

export interface FoundDevice {
  readonly unit: number;
  readonly probe: Extract<ProbeOutcome, { present: true }>;
  /** Best guesses first; several when they are equally likely; empty when no profile matches. */
  readonly models: readonly ModelGuess[];
}

export interface ScanProgress {
  readonly done: number;
  readonly total: number;
  readonly unit: number;
  readonly found: number;
}

export interface ScanOptions {
  readonly ids: readonly number[];
  /** How long a device may take to start answering; each request's bus time at the line's rate comes on top. */
  readonly timeoutMs: number;
  readonly profiles: readonly Profile[];
  readonly timing: LineTiming;
  readonly onProgress?: (p: ScanProgress) => void;
  readonly onFound?: (d: FoundDevice) => void;
}

export interface ScanResult {
  readonly found: readonly FoundDevice[];
  /** Ids whose only reply was garbled (bad CRC or framing): the hint of a wrong baud rate or parity. */
  readonly garbled: readonly number[];
}

/**
 * Timeout of one read: the slack a device gets to start answering, plus the bus time of the transaction
 * itself, so a long read at a slow baud rate is not given up while its reply is still on the wire.
 */
export const readTimeoutMs = (timing: LineTiming, fn: ReadFunction, count: number, slackMs: number, turnaroundMs = 0): number =>
  Math.ceil(slackMs + requestCostMs(timing, fn, count, turnaroundMs));

/** Probes every id in turn (a line carries one transaction at a time), then identifies those that answered. */
export async function scanLine(line: ProbeLine, opts: ScanOptions): Promise<ScanResult> {
  const found: FoundDevice[] = [];
  const garbled: number[] = [];
  for (const [i, unit] of opts.ids.entries()) {
    const probe = await probeUnit(line, unit, readTimeoutMs(opts.timing, 3, 1, opts.timeoutMs));
    if (probe.present) {
      const device = { unit, probe, models: await identifyModel(line, unit, opts) };
      found.push(device);
      opts.onFound?.(device);
    } else if (probe.garbled) garbled.push(unit);
    opts.onProgress?.({ done: i + 1, total: opts.ids.length, unit, found: found.length });
  }
  return { found, garbled };
}

export async function probeUnit(line: ProbeLine, unit: number, timeoutMs: number): Promise<ProbeOutcome> {
  let garbled = false;
  for (const fn of PROBE_FUNCTIONS) {
    try {
      await line.read(unit, fn, 0, 1, timeoutMs);
      return { present: true, fn };
    } catch (err) {
      const failure = asFailure(err);
      if (failure.reason === 'exception' && !GATEWAY_EXCEPTIONS.has(failure.exceptionCode ?? -1)) {
        return { present: true, fn, exceptionCode: failure.exceptionCode };
      }
      if (failure.reason === 'exception') return { present: false, garbled }; // the gateway has no such unit
      if (failure.reason === 'crc' || failure.reason === 'frame') garbled = true;
    }
  }
  return { present: false, garbled };
}

/** Re-throws what is not a Modbus answer problem: the line itself is gone, so the scan must stop. */
function asFailure(err: unknown): ModbusFailure {
  if (err instanceof ModbusFailure && err.reason !== 'disconnected') return err;
  throw err;
}

export async function identifyModel(line: ProbeLine, unit: number, opts: Pick<ScanOptions, 'profiles' | 'timeoutMs' | 'timing'>): Promise<ModelGuess[]> {
  const cache = new Map<string, Promise<number | undefined>>();
  const readOne = (fn: ReadFunction, address: number): Promise<number | undefined> => {
    const key = `${fn}:${address}`;
    let value = cache.get(key);
    if (!value) {
      value = line.read(unit, fn, address, 1, readTimeoutMs(opts.timing, fn, 1, opts.timeoutMs)).then((w) => w[0], (err) => void asFailure(err));
      cache.set(key, value);
    }
    return value;
  };
  const matching: Profile[] = [];
  for (const profile of opts.profiles) {
    if (profile.identify.length === 0) continue;
    let ok = true;
    for (const id of profile.identify) {
      const value = await readOne(FUNCTION_OF[id.kind], id.address);
      if (value === undefined || (id.equals !== undefined && value !== id.equals)) ok = false;
      if (!ok) break;
    }
    if (ok) matching.push(profile);
  }
  const guesses: ModelGuess[] = [];
  for (const p of matching) guesses.push(guess(p, await pointsServed(line, unit, p, opts)));
  // Identify registers without an expected value only prove the device answers there: a device that
  // serves none of a profile's points plausibly is not that model.
  return bestGuesses(guesses.filter((g) => g.pointsPlausible > 0));
}

const guess = (p: Profile, served: number): ModelGuess => ({
  profile: p.id,
  manufacturer: p.manufacturer,
  model: p.model,
  pointsPlausible: served,
  pointsTotal: p.points.length,
});

/** Most plausible points first, then the larger share of the profile; equally good guesses are all kept. */
export function bestGuesses(guesses: readonly ModelGuess[]): ModelGuess[] {
  const share = (g: ModelGuess): number => (g.pointsTotal === 0 ? 0 : g.pointsPlausible / g.pointsTotal);
  const compare = (a: ModelGuess, b: ModelGuess): number => b.pointsPlausible - a.pointsPlausible || share(b) - share(a);
  const sorted = [...guesses].sort(compare);
  const top = sorted[0];
  return top ? sorted.filter((g) => compare(g, top) === 0) : [];
}

/** A value a working device of this model could show: decoded, non-zero, and inside the point's range. */
export function isPlausible(words: readonly number[], point: ProfilePoint): boolean {
  const { value } = decodePoint(words, point);
  if (value === null || value === 0) return false;
  return point.range === undefined || (value >= point.range[0] && value <= point.range[1]);
}

async function pointsServed(line: ProbeLine, unit: number, profile: Profile, opts: Pick<ScanOptions, 'timeoutMs' | 'timing'>): Promise<number> {
  let served = 0;
  for (const read of planDevice(unit, profile.points, profile.limits, opts.timing).reads) {
    try {
      const timeoutMs = readTimeoutMs(opts.timing, read.fn, read.count, opts.timeoutMs, profile.limits.turnaroundMs);
      const words = await line.read(unit, read.fn, read.address, read.count, timeoutMs);
      for (const p of read.points) {
        const offset = p.address - read.address;
        if (isPlausible(words.slice(offset, offset + pointWidth(p)), p)) served += 1;
      }
    } catch (err) {
      asFailure(err);
    }
  }
  return served;
}

// ---------------------------------------------------------------------------------------------------------
// Opening a line with errors a technician can act on.
// ---------------------------------------------------------------------------------------------------------

/** A line for technician tools: the same bus the gateway uses (one transaction at a time, t3.5 silences). */
export function openProbeLine(endpoint: Endpoint, connectTimeoutMs: number): ProbeLine {
  if (endpoint.type === 'serial') checkSerialPath(endpoint.port);
  const bus = new ModbusBus({
    id: 'technician',
    endpoint,
    timeoutMs: connectTimeoutMs,
    interFrameMs: endpoint.type === 'serial' ? t35Ms(endpoint.baud) : 0,
    maxQueue: 1, // one request at a time from a technician tool: a second concurrent one is a bug
    logger: silentLogger(),
  });
  return {
    read: async (unit, fn, address, count, timeoutMs) => {
      try {
        return await bus.read(unit, fn, address, count, { priority: 'demand', timeoutMs, retries: 0 });
      } catch (err) {
        if (err instanceof ModbusFailure && err.reason === 'disconnected') throw explainOpenFailure(endpoint, err);
        throw err;
      }
    },
    close: () => bus.close(),
  };
}

/** Fails early, with the fix, when the serial device is missing or not ours to open. */
export function checkSerialPath(path: string): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw explainOpenFailure({ type: 'serial', port: path, baud: 0, parity: 'none', dataBits: 8, stopBits: 1 }, err);
  }
}

/** Turns an open/connect failure into a PasserelleError whose message says what to check. */
export function explainOpenFailure(endpoint: Endpoint, err: unknown): PasserelleError {
  const text = `${(err as { code?: string })?.code ?? ''} ${errorMessage(err)}`;
  const where = endpoint.type === 'serial' ? endpoint.port : `${endpoint.host}:${endpoint.port}`;
  const fail = (code: string, message: string) => new PasserelleError(code, message, false, { cause: err });
  if (endpoint.type === 'serial') {
    const problem = describeSerialOpenError(where, err);
    return fail(problem.code, problem.message);
  }
  if (/ECONNREFUSED/i.test(text)) return fail('E_TCP_REFUSED', `nothing listens on ${where} (check the gateway's address and port, usually 502)`);
  if (/ENOTFOUND|EAI_AGAIN/i.test(text)) return fail('E_TCP_HOST', `unknown host in ${where}`);
  return fail('E_TCP_CONNECT', `cannot reach ${where}: ${errorMessage(err)} (check the address, the cable and any firewall)`);
}

/** "1-247", "1,2,5-9" or "254" to a sorted list of distinct unit ids (1-255; 0 is broadcast: nobody answers). */
export function parseIdRanges(text: string): number[] {
  const ids = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,3})\s*(?:-\s*(\d{1,3})\s*)?$/.exec(part);
    const from = Number(m?.[1]);
    const to = m?.[2] === undefined ? from : Number(m[2]);
    if (!m || from < MIN_UNIT_ID || to > MAX_UNIT_ID || from > to) {
      throw new PasserelleError('E_CLI_IDS', `"${part.trim()}" is not a unit id range: write e.g. 1-247, 1,2,5-9 or 254 (ids 1-255)`);
    }
    for (let id = from; id <= to; id += 1) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** "1-247" style text for a list of ids, for messages. */
export function describeIds(ids: readonly number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j += 1;
    runs.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return runs.join(',');
}
