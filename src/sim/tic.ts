/**
 * A Linky meter on a serial port (the device side of a pty): frames at the line's pace (1200 baud
 * historique, 9600 standard, 10 bits per char at 7E1), an energy index that grows with the apparent
 * power, a power that drifts plausibly, and optional line faults (noise, cut frames, bad checksums).
 * It keeps the last frames it sent, so a test can compare what the gateway decoded with what was sent.
 */
import type { SerialPort } from 'serialport';
import { encodeTicGroup, formatTicHorodate, type TicMode, type TicSeason } from '../drivers/serial/tic/index.js';
import { FaultInjector, openSimulatorPort, runStreamingLoop, seededRandom, writeAll, type FaultCounts, type SerialFaults } from './serial-noise.js';

export interface TicSimulatorOptions {
  /** The device side of the pty (or a real port wired to the gateway). */
  readonly path: string;
  readonly mode: TicMode;
  readonly faults?: SerialFaults;
  readonly seed?: number;
  /** Silence between frames (ms). Default: 200 historique, 400 standard. */
  readonly gapMs?: number;
  /** Pace bytes at this baud (default: the mode's). 0 writes each frame at once. */
  readonly paceBaud?: number;
  /** Fake meter identifier (12 digits). It is an identifier: the gateway must never send it upstream. */
  readonly meterId?: string;
  readonly now?: () => number;
}

/** What one frame carried, as sent: labels whose checksum was corrupted are listed apart. */
export interface SentTicFrame {
  readonly ts: number;
  readonly values: Readonly<Record<string, string>>;
  readonly corrupted: readonly string[];
  readonly cut: boolean;
}

export interface TicSimulator {
  readonly path: string;
  readonly mode: TicMode;
  /** The last frames sent, oldest first (at most MAX_SENT_FRAMES). */
  sentFrames(): readonly SentTicFrame[];
  counts(): FaultCounts & { frames: number; bytes: number };
  stop(): Promise<void>;
}

export const TIC_SIM_DEFAULT_METER_ID = '041876543210';
const MAX_SENT_FRAMES = 1000;
const BITS_PER_CHAR = 10;
const LINE_BAUD: Readonly<Record<TicMode, number>> = { historique: 1200, standard: 9600 };
/** TIC framing bytes noise must not contain: they would open or close frames (tested elsewhere). */
const FRAMING = new Set([0x02, 0x03, 0x04]);

/** Apparent power (VA) at time t: a slow daily-ish swing plus a faster wobble, always positive. */
export function simulatedPowerVa(t: number, seed: number): number {
  const slow = Math.sin((2 * Math.PI * t) / 600_000 + seed);
  const fast = Math.sin((2 * Math.PI * t) / 37_000 + seed * 3);
  return Math.round(1800 + 900 * slow + 250 * fast);
}

/** EU summer time: last Sunday of March 01:00 UTC to last Sunday of October 01:00 UTC. */
export function euSeason(ts: number): TicSeason {
  const year = new Date(ts).getUTCFullYear();
  const lastSunday = (month: number) => {
    const end = Date.UTC(year, month + 1, 0, 1);
    return end - new Date(end).getUTCDay() * 86_400_000;
  };
  return ts >= lastSunday(2) && ts < lastSunday(9) ? 'summer' : 'winter';
}

interface MeterState {
  indexWh: number;
  lastTs: number;
  maxVa: number;
}

export async function startTicSimulator(opts: TicSimulatorOptions): Promise<TicSimulator> {
  const now = opts.now ?? Date.now;
  const seed = opts.seed ?? 1;
  const random = seededRandom(seed);
  const faults = new FaultInjector(opts.faults ?? {}, random, FRAMING);
  const port = await openSimulatorPort(opts.path, LINE_BAUD[opts.mode]);
  const paceBaud = opts.paceBaud ?? LINE_BAUD[opts.mode];
  const gapMs = opts.gapMs ?? (opts.mode === 'historique' ? 200 : 400);
  const meterId = opts.meterId ?? TIC_SIM_DEFAULT_METER_ID;
  const state: MeterState = { indexWh: opts.mode === 'standard' ? 3_519_702 : 52_890_470, lastTs: now(), maxVa: 0 };
  const sent: SentTicFrame[] = [];
  const totals = { frames: 0, bytes: 0 };
  const loop = runStreamingLoop(port, async (pause, running) => {
    const ts = now();
    const groups = frameGroups(opts.mode, meterId, advance(state, ts, seed), ts, state);
    const corrupted: string[] = [];
    const text = groups.map(([label, value, horodate]) => {
      const group = encodeTicGroup(label, value, opts.mode, horodate);
      if (!faults.corruptChecksum()) return group;
      corrupted.push(label);
      return corruptGroupChecksum(group, random());
    });
    const { bytes, cut } = faults.maybeCut(Buffer.from(`\x02${text.join('')}\x03`, 'latin1'));
    const noise = faults.noise();
    await writePaced(port, Buffer.concat([noise, bytes]), paceBaud, running, pause);
    totals.frames++;
    totals.bytes += noise.length + bytes.length;
    sent.push({ ts, values: Object.fromEntries(groups.map(([l, v]) => [l, v])), corrupted, cut });
    if (sent.length > MAX_SENT_FRAMES) sent.shift();
    if (running()) await pause(gapMs);
  });

  return {
    path: opts.path,
    mode: opts.mode,
    sentFrames: () => sent.slice(),
    counts: () => ({ ...faults.counts, ...totals }),
    stop: loop.stop,
  };
}

function advance(state: MeterState, ts: number, seed: number): number {
  const va = simulatedPowerVa(ts, seed);
  state.indexWh += Math.round((va * Math.max(0, ts - state.lastTs)) / 3_600_000);
  state.lastTs = ts;
  state.maxVa = Math.max(state.maxVa, va);
  return va;
}

type Group = readonly [label: string, value: string, horodate?: string];
const pad = (n: number, width: number) => String(Math.max(0, Math.round(n))).padStart(width, '0');

/** One frame's groups; the state was just advanced to ts. */
function frameGroups(mode: TicMode, meterId: string, va: number, ts: number, state: MeterState): Group[] {
  const amps = va / 230;
  if (mode === 'historique') {
    return [
      ['ADCO', meterId],
      ['OPTARIF', 'BASE'],
      ['ISOUSC', '45'],
      ['BASE', pad(state.indexWh, 9)],
      ['PTEC', 'TH..'],
      ['IINST', pad(amps, 3)],
      ['IMAX', '090'],
      ['PAPP', pad(va, 5)],
      ['MOTDETAT', '000000'],
    ];
  }
  const horodate = formatTicHorodate(Math.floor(ts / 1000) * 1000, euSeason(ts));
  return [
    ['ADSC', meterId],
    ['VTIC', '02'],
    ['DATE', '', horodate],
    ['NGTF', '      BASE      '],
    ['LTARF', '      BASE      '],
    ['EAST', pad(state.indexWh, 9)],
    ['EASF01', pad(state.indexWh, 9)],
    ['IRMS1', pad(amps, 3)],
    ['URMS1', pad(228 + (va % 7), 3)],
    ['PREF', '12'],
    ['PCOUP', '12'],
    ['SINSTS', pad(va, 5)],
    ['SMAXSN', pad(state.maxVa, 5), horodate],
    ['STGE', '003A0001'],
    ['MSG1', 'PAS DE          MESSAGE         '],
    ['NTARF', '01'],
    ['RELAIS', '000'],
  ];
}

/** Replaces the checksum char (before the final CR) by another char of the checksum range. */
export function corruptGroupChecksum(group: string, r: number): string {
  const at = group.length - 2;
  const good = group.charCodeAt(at) - 0x20;
  const bad = ((good + 1 + Math.floor(r * 63)) % 64) + 0x20;
  return group.slice(0, at) + String.fromCharCode(bad) + group.slice(at + 1);
}

/** Writes group by group (split at LF), waiting each chunk's time on the wire at `baud`. */
async function writePaced(port: SerialPort, bytes: Buffer, baud: number, alive: () => boolean, pause: (ms: number) => Promise<void>): Promise<void> {
  if (baud <= 0) return writeAll(port, bytes);
  let from = 0;
  while (from < bytes.length && alive()) {
    let to = bytes.indexOf(0x0a, from + 1);
    if (to < 0) to = bytes.length;
    const chunk = bytes.subarray(from, to);
    const started = Date.now();
    await writeAll(port, chunk);
    const wireMs = (chunk.length * BITS_PER_CHAR * 1000) / baud;
    const left = wireMs - (Date.now() - started);
    if (left >= 1) await pause(left);
    from = to;
  }
}
