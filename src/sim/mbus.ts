/**
 * M-Bus meters on the slave side of a pty (or a real port), 2400 baud 8E1: they answer SND_NKE with
 * E5, REQ_UD2 with an RSP_UD of their profile's records (values moving with time: an energy index
 * only grows), and the secondary selection (SND_UD to 253, CI 52h) with wildcards. Two meters that
 * match one selection answer at once, which the master reads as a collision (garbage bytes). A
 * telegram longer than `recordsPerTelegram` is split, each part but the last ending with DIF 1Fh;
 * the master gets the next part by toggling the FCB, and the same part again if it does not.
 * Faults: silence (no answer), noise before an answer, cut answers, bad checksums.
 */
import type { SerialPort } from 'serialport';
import { type MbusProfile, type MbusProfilePoint, type MbusQuantity } from '../profiles/index.js';
import { mbusUnitFactor } from '../profiles/mbus-units.js';
import {
  ACK, ADDR_BROADCAST, ADDR_NETWORK, ADDR_TEST, C_REQ_UD2, C_RSP_UD, C_SND_NKE, C_SND_UD, CI_SELECT, CI_VARIABLE, encodeHeader, encodeLong, encodeManufacturer,
  encodeRecord, FCB, idBytes, MbusFrameReader, readVif, type DataType, type MbusFrame,
} from '../drivers/serial/mbus/index.js';
import { closeSimulatorPort, FaultInjector, openSimulatorPort, seededRandom, writeAll, type FaultCounts, type SerialFaults } from './serial-noise.js';
import { unitHash } from './values.js';

export interface MbusSimFaults extends SerialFaults {
  /** Probability that a meter does not answer a request at all. */
  readonly silence?: number;
}

export interface SimulatedMbusMeter {
  readonly profile: MbusProfile;
  /** Primary address 1-250 (0: unconfigured, reachable by secondary address only). */
  readonly primary: number;
  /** Identification number; the profile's sim id when absent. */
  readonly id?: string;
  /** The status byte of its header (0: all well; 04h power low, 10h temporary error...). */
  readonly status?: number;
}

export interface MbusSimulatorOptions {
  readonly path: string;
  readonly meters: readonly SimulatedMbusMeter[];
  readonly baudRate?: number;
  readonly faults?: MbusSimFaults;
  readonly seed?: number;
  /** Delay before answering (a real meter: 11 bit times to 330 bit times + 50 ms). */
  readonly replyDelayMs?: number;
  readonly recordsPerTelegram?: number;
  /** Time the counters start from (default: now). */
  readonly originMs?: number;
}

/** One telegram served: the point values it carried, in each point's unit, as the master must decode them. */
export interface ServedTelegram {
  readonly id: string;
  readonly ts: number;
  readonly part: number;
  readonly values: Readonly<Record<string, number | string>>;
}

export interface MbusSimulator {
  readonly path: string;
  served(): readonly ServedTelegram[];
  counts(): FaultCounts & { requests: number; answers: number; silences: number; collisions: number };
  stop(): Promise<void>;
}

/** The VIF the simulator sends per quantity: resolution a real meter would use. */
const SIM_VIF: Partial<Record<MbusQuantity, { vif: number[]; type: DataType }>> = {
  energy: { vif: [0x05], type: 'int32' }, // 100 Wh
  volume: { vif: [0x14], type: 'int32' }, // 0.01 m3
  power: { vif: [0x2b], type: 'int32' }, // 1 W
  volume_flow: { vif: [0x3b], type: 'int32' }, // 1 l/h
  flow_temperature: { vif: [0x5a], type: 'int16' }, // 0.1 Cel
  return_temperature: { vif: [0x5e], type: 'int16' },
  temperature_difference: { vif: [0x61], type: 'int16' }, // 0.01 K
  external_temperature: { vif: [0x66], type: 'int16' },
  on_time: { vif: [0x22], type: 'int32' }, // hours
  operating_time: { vif: [0x26], type: 'int32' },
  fabrication_number: { vif: [0x78], type: 'bcd8' },
  error_flags: { vif: [0xfd, 0x17], type: 'int8' },
  hca: { vif: [0x6e], type: 'int32' },
  voltage: { vif: [0xfd, 0x48], type: 'int32' }, // 0.1 V
  current: { vif: [0xfd, 0x59], type: 'int32' }, // 1 mA
};

/** Points of the generic profile's simulated meter (an electricity sub-meter). */
const GENERIC_POINTS: MbusProfilePoint[] = [
  { name: 'energy', record: { quantity: 'energy', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0 }, unit: 'kWh', class: 'energy', measure: 'counter', sim: { base: 1250, amplitude: 0, periodS: 600, ratePerHour: 3 } },
  { name: 'power', record: { quantity: 'power', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0 }, unit: 'W', class: 'energy', measure: 'gauge', sim: { base: 3000, amplitude: 800, periodS: 600 } },
  { name: 'voltage', record: { quantity: 'voltage', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0 }, unit: 'V', class: 'energy', measure: 'gauge', sim: { base: 231, amplitude: 2, periodS: 300 } },
  { name: 'current', record: { quantity: 'current', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0 }, unit: 'A', class: 'energy', measure: 'gauge', sim: { base: 13, amplitude: 3, periodS: 600 } },
];

export const simulatedPoints = (profile: MbusProfile): readonly MbusProfilePoint[] => (profile.generic ? GENERIC_POINTS : profile.points);

interface MeterState {
  readonly meter: SimulatedMbusMeter;
  readonly id: string;
  readonly manufacturer: string;
  readonly version: number;
  readonly medium: number;
  readonly index: number;
  selected: boolean;
  lastFcb: boolean | undefined;
  lastFrame: Buffer | undefined;
  parts: number[][][];
  part: number;
  access: number;
}

const MAX_LOG = 5000;

export async function startMbusSimulator(opts: MbusSimulatorOptions): Promise<MbusSimulator> {
  const random = seededRandom(opts.seed ?? 1);
  const faults = new FaultInjector(opts.faults ?? {}, random, new Set([ACK, 0x10, 0x68]));
  const port: SerialPort = await openSimulatorPort(opts.path, opts.baudRate ?? 2400, 8, 'even');
  const originMs = opts.originMs ?? Date.now();
  const perTelegram = opts.recordsPerTelegram ?? 40;
  const meters: MeterState[] = opts.meters.map((m, index) => {
    const sim = m.profile.sim ?? { id: '00000001', manufacturer: 'PAS', version: 1, medium: 0 };
    return { meter: m, id: m.id ?? sim.id, manufacturer: sim.manufacturer, version: sim.version, medium: sim.medium, index, selected: false, lastFcb: undefined, lastFrame: undefined, parts: [], part: 0, access: 0 };
  });
  const served: ServedTelegram[] = [];
  const totals = { requests: 0, answers: 0, silences: 0, collisions: 0 };
  const reader = new MbusFrameReader();
  let queue = Promise.resolve();

  const answer = async (bytes: Buffer): Promise<void> => {
    if (faults.chance(opts.faults?.silence)) {
      totals.silences++;
      return;
    }
    let out = bytes;
    if (out.length > 1 && faults.corruptChecksum()) {
      out = Buffer.from(out);
      out[out.length - 2] = out[out.length - 2]! ^ 0x5a;
    }
    const noise = faults.noise();
    const { bytes: cut } = faults.maybeCut(out);
    await sleep(opts.replyDelayMs ?? 5);
    totals.answers++;
    await writeAll(port, Buffer.concat([noise, cut]));
  };

  const telegramFor = (m: MeterState, fcb: boolean): Buffer => {
    if (m.lastFcb === fcb && m.lastFrame) return m.lastFrame; // the master lost our answer: same again
    const moreBefore = m.part + 1 < m.parts.length;
    if (m.lastFrame && moreBefore) m.part++;
    else {
      const ts = Date.now();
      const { records, values } = recordsOf(m, ts, originMs, opts.seed ?? 1);
      m.parts = chunk(records, perTelegram);
      m.part = 0;
      served.push({ id: m.id, ts, part: 0, values });
      if (served.length > MAX_LOG) served.shift();
    }
    m.access = (m.access + 1) & 0xff;
    const more = m.part + 1 < m.parts.length;
    const header = encodeHeader({ id: m.id, manufacturer: m.manufacturer, version: m.version, medium: m.medium, accessNumber: m.access, status: m.meter.status ?? 0 });
    const data = [...header, ...(m.parts[m.part] ?? []).flat(), ...(more ? [0x1f] : [])];
    const frame = encodeLong(C_RSP_UD, m.meter.primary, CI_VARIABLE, data);
    m.lastFcb = fcb;
    m.lastFrame = frame;
    return frame;
  };

  const addressed = (a: number): MeterState[] => {
    if (a === ADDR_NETWORK) return meters.filter((m) => m.selected);
    if (a === ADDR_TEST) return meters;
    return meters.filter((m) => m.meter.primary === a && a !== 0);
  };

  const collide = async (n: number): Promise<void> => {
    totals.collisions++;
    // Several E5 on the wire at once, bit slips included: what a master reads is no clean frame.
    const garbage = Buffer.alloc(1 + n, 0);
    for (let i = 0; i < garbage.length; i++) garbage[i] = [0xa5, 0xc5, 0xf5, 0x85][Math.floor(random() * 4)]!;
    await sleep(opts.replyDelayMs ?? 5);
    await writeAll(port, garbage);
  };

  const handle = async (f: MbusFrame): Promise<void> => {
    if (f.kind === 'ack') return;
    totals.requests++;
    if (f.kind === 'short' && f.c === C_SND_NKE) {
      const targets = f.a === ADDR_BROADCAST ? meters : addressed(f.a);
      for (const m of targets) {
        m.lastFcb = undefined;
        m.lastFrame = undefined;
        if (f.a === ADDR_NETWORK) m.selected = false;
      }
      if (f.a === ADDR_BROADCAST) return; // every meter resets; none answers a broadcast
      if (targets.length > 1) return collide(targets.length);
      if (targets.length === 1) return answer(Buffer.from([ACK]));
      return;
    }
    if (f.kind === 'short' && (f.c & ~FCB) === C_REQ_UD2) {
      const targets = addressed(f.a);
      if (targets.length > 1) return collide(targets.length);
      if (targets.length === 1) return answer(telegramFor(targets[0]!, (f.c & FCB) !== 0));
      return;
    }
    if (f.kind === 'long' && (f.c & ~FCB) === C_SND_UD && f.a === ADDR_NETWORK && f.ci === CI_SELECT && f.data.length === 8) {
      for (const m of meters) m.selected = matches(m, f.data);
      const chosen = meters.filter((m) => m.selected);
      for (const m of chosen) {
        m.lastFcb = undefined;
        m.lastFrame = undefined;
      }
      if (chosen.length > 1) return collide(chosen.length);
      if (chosen.length === 1) return answer(Buffer.from([ACK]));
    }
  };

  port.on('data', (chunk: Buffer) => {
    for (const e of reader.push(chunk)) {
      if (e.type === 'frame') queue = queue.then(() => handle(e.frame)).catch(() => undefined);
    }
  });

  return {
    path: opts.path,
    served: () => served,
    counts: () => ({ ...faults.counts, ...totals }),
    stop: async () => {
      port.removeAllListeners('data');
      await queue;
      await closeSimulatorPort(port);
    },
  };
}

function matches(m: MeterState, d: Uint8Array): boolean {
  const want = idBytes(m.id);
  for (let i = 0; i < 4; i++) {
    for (const shift of [0, 4]) {
      const nibble = (d[i]! >> shift) & 0x0f;
      if (nibble !== 0x0f && nibble !== ((want[i]! >> shift) & 0x0f)) return false;
    }
  }
  const manufacturer = d[4]! | (d[5]! << 8);
  if (manufacturer !== 0xffff && manufacturer !== encodeManufacturer(m.manufacturer)) return false;
  if (d[6] !== 0xff && d[6] !== m.version) return false;
  return d[7] === 0xff || d[7] === m.medium;
}

/** The meter's records at time ts, and the values a master decoding them gets (point units). */
function recordsOf(m: MeterState, ts: number, originMs: number, seed: number): { records: number[][]; values: Record<string, number | string> } {
  const records: number[][] = [];
  const values: Record<string, number | string> = {};
  simulatedPoints(m.meter.profile).forEach((p, i) => {
    const r = p.record;
    const position = { function: ([ 'instantaneous', 'maximum', 'minimum', 'error'] as const).indexOf(r.function) as 0 | 1 | 2 | 3, storage: r.storage, tariff: r.tariff, subunit: r.subunit };
    if (r.quantity === 'plain_text') {
      const text = 'SITE TEST';
      records.push([0x0d | (position.function << 4), 0x7c, r.plainText!.length, ...Buffer.from(r.plainText!, 'latin1').reverse(), text.length, ...Buffer.from(text, 'latin1').reverse()]);
      values[p.name] = text;
      return;
    }
    const how = SIM_VIF[r.quantity];
    if (!how) return;
    const vifInfo = readVif(Uint8Array.from(how.vif), 0);
    if (!vifInfo.ok) return;
    const unitFactor = mbusUnitFactor(r.quantity, p.unit);
    if (typeof unitFactor === 'string') return;
    let raw: number;
    if (r.quantity === 'fabrication_number') raw = Number(m.id);
    else {
      const inPointUnit = simValue(p, ts, originMs, seed * 31 + m.index, i);
      raw = Math.round(inPointUnit / unitFactor / vifInfo.info.factor);
    }
    records.push(encodeRecord({ type: how.type, vif: how.vif, raw, ...position }));
    const base = Number((raw * vifInfo.info.factor).toPrecision(12));
    values[p.name] = Number((base * unitFactor).toPrecision(12));
  });
  return { records, values };
}

/** A counter grows from base at ratePerHour; a gauge swings around base; both deterministic. */
function simValue(p: MbusProfilePoint, ts: number, originMs: number, seed: number, index: number): number {
  const sim = p.sim;
  if (!sim) return 0;
  if (sim.ratePerHour !== undefined) return sim.base + (sim.ratePerHour * Math.max(0, ts - originMs)) / 3_600_000;
  const phase = unitHash(seed, index, 0x6b05) * sim.periodS * 1000;
  return sim.base + sim.amplitude * Math.sin((2 * Math.PI * (ts + phase)) / (sim.periodS * 1000));
}

/** Telegrams of at most `size` records that fit a long frame (252 bytes: 12 of header, 1 for DIF 1Fh). */
function chunk(records: readonly number[][], size: number): number[][][] {
  const out: number[][][] = [[]];
  let bytes = 0;
  for (const r of records) {
    const last = out[out.length - 1]!;
    if (last.length >= size || bytes + r.length > 252 - 13) {
      out.push([r]);
      bytes = r.length;
    } else {
      last.push(r);
      bytes += r.length;
    }
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
