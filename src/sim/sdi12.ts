/**
 * SDI-12 sensors behind an adapter, on the device side of a pty: answers `a!`, `?!`, `aI!`,
 * `aM!`/`aMC!` (then the service request after `ttt` seconds), `aC!`/`aCC!` and `aD0!`..`aD9!`, with
 * the CRC variant. Several sensors share the line, as on a real SDI-12 bus. A pty carries no break:
 * the simulator takes any command that ends with `!`.
 */
import type { SerialPort } from 'serialport';
import { crc16arc, sdi12CrcChars } from '../drivers/serial/sdi12/crc.js';
import { closeSimulatorPort, FaultInjector, openSimulatorPort, seededRandom, writeAll, type FaultCounts, type SerialFaults } from './serial-noise.js';

export interface SimulatedSdi12Sensor {
  readonly address: string;
  /** The values a measurement taken at time t returns (at most 9 for aM!). */
  readonly values: (t: number) => readonly number[];
  /** Seconds announced in the measure reply (ttt). */
  readonly delaySeconds?: number;
  /** Decimals printed per value (default 2). */
  readonly decimals?: number;
}

export interface Sdi12SimulatorOptions {
  readonly path: string;
  readonly sensors: readonly SimulatedSdi12Sensor[];
  readonly baudRate?: number;
  readonly faults?: SerialFaults;
  readonly seed?: number;
  /** Reply delay after a command (a real sensor starts within 15 ms). */
  readonly replyDelayMs?: number;
}

export interface Sdi12Measurement {
  readonly address: string;
  readonly ts: number;
  /** As printed, so as a gateway must decode them. */
  readonly values: readonly number[];
}

export interface Sdi12Simulator {
  readonly path: string;
  measurements(): readonly Sdi12Measurement[];
  commands(): readonly string[];
  counts(): FaultCounts & { commands: number; replies: number };
  stop(): Promise<void>;
}

/** Longest command kept: `aXXn!` is 5 chars; anything longer is noise, dropped. */
const MAX_COMMAND_BYTES = 16;
const MAX_LOG = 1000;
const COMMAND = /([0-9A-Za-z?])(I|MC?[1-9]?|CC?[1-9]?|D[0-9]|RC?[0-9]|A[0-9A-Za-z])?!$/;
/** Values per aDn! reply: 35 chars for aM!, as the standard allows. */
const MAX_VALUE_CHARS = 35;

interface PendingMeasurement {
  readonly texts: readonly string[];
  readonly crc: boolean;
}

export const soilProbeValues = (t: number): number[] => [
  Math.round((28 + 6 * Math.sin((2 * Math.PI * t) / 900_000)) * 100) / 100,
  Math.round((14 + 3 * Math.sin((2 * Math.PI * t) / 1_800_000 + 2)) * 100) / 100,
];

export function formatSdi12Value(v: number, decimals: number): string {
  const text = Math.abs(v).toFixed(decimals).slice(0, 8);
  return `${v < 0 ? '-' : '+'}${text}`;
}

export async function startSdi12Simulator(opts: Sdi12SimulatorOptions): Promise<Sdi12Simulator> {
  const random = seededRandom(opts.seed ?? 1);
  const faults = new FaultInjector(opts.faults ?? {}, random, new Set([0x0d, 0x0a]));
  const port: SerialPort = await openSimulatorPort(opts.path, opts.baudRate ?? 1200);
  const sensors = new Map(opts.sensors.map((s) => [s.address, s]));
  const pending = new Map<string, PendingMeasurement>();
  const timers = new Set<NodeJS.Timeout>();
  const measurements: Sdi12Measurement[] = [];
  const commandLog: string[] = [];
  const totals = { commands: 0, replies: 0 };
  let buffer = '';
  let running = true;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (running) fn();
    }, ms);
    timers.add(timer);
  };

  const reply = (text: string, withCrc = false) => {
    let body = withCrc ? text + sdi12CrcChars(crc16arc(text)) : text;
    if (withCrc && faults.corruptChecksum()) body = body.slice(0, -1) + String.fromCharCode(((body.charCodeAt(body.length - 1) - 0x40 + 1) & 0x3f) | 0x40);
    const { bytes } = faults.maybeCut(Buffer.from(`${body}\r\n`, 'latin1'));
    totals.replies++;
    void writeAll(port, Buffer.concat([faults.noise(), bytes]));
  };

  const measure = (sensor: SimulatedSdi12Sensor, concurrent: boolean, crc: boolean) => {
    const ts = Date.now();
    const values = sensor.values(ts).slice(0, concurrent ? 20 : 9);
    const texts = values.map((v) => formatSdi12Value(v, sensor.decimals ?? 2));
    measurements.push({ address: sensor.address, ts, values: texts.map(Number) });
    if (measurements.length > MAX_LOG) measurements.shift();
    const delay = sensor.delaySeconds ?? 1;
    pending.set(sensor.address, { texts, crc });
    const count = concurrent ? String(texts.length).padStart(2, '0') : String(texts.length);
    reply(`${sensor.address}${String(delay).padStart(3, '0')}${count}`);
    // aM! ends with a service request once the values are ready; aC! does not.
    if (!concurrent && delay > 0) later(delay * 1000, () => reply(sensor.address));
  };

  const data = (sensor: SimulatedSdi12Sensor, index: number) => {
    const m = pending.get(sensor.address);
    const chunks = m ? chunkValues(m.texts) : [];
    reply(`${sensor.address}${chunks[index] ?? ''}`, m?.crc === true);
  };

  const handle = (address: string, command: string) => {
    const sensor = address === '?' ? opts.sensors[0] : sensors.get(address);
    if (!sensor) return; // another address: a real sensor stays silent
    const letter = command[0];
    if (command === '' || letter === 'A') return reply(sensor.address);
    if (command === 'I') return reply(`${sensor.address}13PASSERELSOILSM100SIM${sensor.address}0001`);
    if (letter === 'M' || letter === 'C') return measure(sensor, letter === 'C', command[1] === 'C');
    if (letter === 'D') return data(sensor, Number(command[1]));
    if (letter === 'R') return reply(`${sensor.address}${sensor.values(Date.now()).map((v) => formatSdi12Value(v, sensor.decimals ?? 2)).join('')}`, command[1] === 'C');
  };

  port.on('data', (chunk: Buffer) => {
    for (const byte of chunk) {
      buffer += String.fromCharCode(byte & 0x7f);
      if (buffer.length > MAX_COMMAND_BYTES) buffer = buffer.slice(-MAX_COMMAND_BYTES);
      if (byte !== 0x21) continue; // '!'
      const m = COMMAND.exec(buffer);
      buffer = '';
      if (!m) continue;
      totals.commands++;
      commandLog.push(m[0]);
      if (commandLog.length > MAX_LOG) commandLog.shift();
      const [, address, command] = m;
      later(opts.replyDelayMs ?? 10, () => handle(address!, command ?? ''));
    }
  });

  return {
    path: opts.path,
    measurements: () => measurements.slice(),
    commands: () => commandLog.slice(),
    counts: () => ({ ...faults.counts, ...totals }),
    stop: async () => {
      running = false;
      for (const t of timers) clearTimeout(t);
      await closeSimulatorPort(port);
    },
  };
}

/** Splits value texts into aD0!, aD1!… replies of at most MAX_VALUE_CHARS, never inside a value. */
function chunkValues(texts: readonly string[]): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const t of texts) {
    if (current.length + t.length > MAX_VALUE_CHARS) {
      chunks.push(current);
      current = '';
    }
    current += t;
  }
  if (current) chunks.push(current);
  return chunks;
}
