/**
 * `npm run bench -- serial-parse [fuzzCases]`: the serial line parsers' cost and robustness.
 *
 * Throughput: frames/s and bytes/s of each parser on realistic traffic fed in 32-byte chunks (what a
 * USB adapter delivers), CPU time measured with process.cpuUsage, median of ROUNDS runs. The CPU share
 * at line rate is (bytes the line carries per second) / (bytes the parser handles per second): a 7E1
 * or 8N1 character is 10 bits, so 1200 baud carries 120 bytes/s and 9600 baud 960 bytes/s.
 *
 * M-Bus is 8E1, 11 bits a character: 2400 baud carries about 218 bytes/s; its row is the frame reader plus
 * the EN 13757-3 decoder on a heat meter's RSP_UD (as the Kamstrup profile's records).
 *
 * Fuzzing: fuzzCases inputs (default 1,000,000) split over the four parsers, half random bytes and
 * half valid frames with random byte mutations, cuts and noise. A crash is any exception, or a parser
 * buffer found above its bound after a push (checked after every push). Every 16th case also embeds one intact
 * frame in noise and checks it is decoded exactly.
 */
import { encodeTicFrame, TicDecoder, DEFAULT_MAX_FRAME_BYTES, formatTicHorodate, type TicGroupInput, type TicMode } from '../src/drivers/serial/tic/index.js';
import { createSdi12Framer, crc16arc, parseSdi12Response, sdi12CrcChars, Sdi12Session, SDI12_MAX_LINE_BYTES, type Sdi12Expect } from '../src/drivers/serial/sdi12/index.js';
import { LineDecoder, DEFAULT_MAX_LINE_BYTES } from '../src/drivers/serial/line/index.js';
import { encodeRspUd, MAX_FRAME_BYTES, MbusFrameReader, parseUserData } from '../src/drivers/serial/mbus/index.js';
import { median, printResult, printTable, round3 } from './lib/report.js';

const ROUNDS = 5;
const CHUNK = 32;
const BYTES_PER_CHAR = 10;
const BAUDS = [1200, 9600] as const;
/** M-Bus characters are 8E1: start, 8 data, parity, stop. */
const MBUS_BITS_PER_CHAR = 11;
const THROUGHPUT_BYTES = 4_000_000;

/** xorshift32: deterministic and fast enough not to dominate the fuzz loop. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

// ---------- realistic traffic ----------

const STANDARD_GROUPS = (i: number): TicGroupInput[] => {
  const h = formatTicHorodate(Date.UTC(2024, 1, 10, 12, 0, i % 60), 'winter');
  return [
    { label: 'ADSC', value: '041876543210' }, { label: 'VTIC', value: '02' }, { label: 'DATE', value: '', horodate: h },
    { label: 'NGTF', value: '      BASE      ' }, { label: 'LTARF', value: '      BASE      ' },
    { label: 'EAST', value: String(3_519_702 + i).padStart(9, '0') }, { label: 'EASF01', value: String(3_519_702 + i).padStart(9, '0') },
    { label: 'IRMS1', value: '007' }, { label: 'URMS1', value: '231' }, { label: 'PREF', value: '12' }, { label: 'PCOUP', value: '12' },
    { label: 'SINSTS', value: String(1500 + (i % 900)).padStart(5, '0') }, { label: 'SMAXSN', value: '02390', horodate: h },
    { label: 'UMOY1', value: '230', horodate: h }, { label: 'STGE', value: '003A0001' },
    { label: 'MSG1', value: 'PAS DE          MESSAGE         ' }, { label: 'NTARF', value: '01' }, { label: 'RELAIS', value: '000' },
  ];
};
const HISTORIQUE_GROUPS = (i: number): TicGroupInput[] => [
  { label: 'ADCO', value: '041876543210' }, { label: 'OPTARIF', value: 'BASE' }, { label: 'ISOUSC', value: '45' },
  { label: 'BASE', value: String(52_890_470 + i).padStart(9, '0') }, { label: 'PTEC', value: 'TH..' },
  { label: 'IINST', value: '008' }, { label: 'IMAX', value: '090' }, { label: 'PAPP', value: String(1800 + (i % 500)).padStart(5, '0') },
  { label: 'MOTDETAT', value: '000000' },
];

const ticFrame = (mode: TicMode, i: number): Buffer => Buffer.from(encodeTicFrame(mode === 'standard' ? STANDARD_GROUPS(i) : HISTORIQUE_GROUPS(i), mode));

/** An SDI-12 exchange as the adapter's receive side sees it: measure reply, service request, data with CRC. */
const sdi12Exchange = (i: number): Buffer => {
  const data = `0+${(20 + (i % 100) / 10).toFixed(2)}+${(12 + (i % 37) / 10).toFixed(2)}`;
  return Buffer.from(`00012\r\n0\r\n${data}${sdi12CrcChars(crc16arc(data))}\r\n`, 'latin1');
};

/** A heat meter's RSP_UD, as the simulator sends a Kamstrup MULTICAL 601 (11 records, 76 bytes). */
const mbusTelegram = (i: number): Buffer =>
  encodeRspUd(5, { id: '71234567', manufacturer: 'KAM', version: 8, medium: 4, accessNumber: i & 0xff }, [
    { type: 'bcd8', vif: [0x78], raw: 71234567 },
    { type: 'int32', vif: [0x05], raw: 373_510 + i },
    { type: 'int32', vif: [0x14], raw: 56_108 + (i % 100) },
    { type: 'int16', vif: [0x5a], raw: 720 + (i % 40) },
    { type: 'int16', vif: [0x5e], raw: 460 + (i % 30) },
    { type: 'int16', vif: [0x61], raw: 2600 + (i % 200) },
    { type: 'int32', vif: [0x2b], raw: 34_700 + (i % 3000) },
    { type: 'int32', vif: [0x2b], raw: 44_800, function: 1 },
    { type: 'int32', vif: [0x3b], raw: 540 + (i % 70) },
    { type: 'int32', vif: [0x22], raw: 985 + i },
    { type: 'int32', vif: [0x05], raw: 333_610, storage: 1 },
  ]);
const MBUS_RECORDS = 11;

const textLine = (i: number): Buffer => Buffer.from(`T=${(20 + (i % 50) / 10).toFixed(1)};H=${40 + (i % 20)}\r\n`, 'latin1');

function stream(make: (i: number) => Buffer, minBytes: number): { bytes: Buffer; frames: number } {
  const parts: Buffer[] = [];
  let total = 0;
  let frames = 0;
  while (total < minBytes) {
    const b = make(frames++);
    parts.push(b);
    total += b.length;
  }
  return { bytes: Buffer.concat(parts), frames };
}

// ---------- parsers under test ----------

interface Parser {
  readonly name: string;
  readonly bound: number;
  /** Pushes one chunk, returns events decoded; must never throw. */
  push(chunk: Uint8Array): number;
  buffered(): number;
}

function ticParser(): Parser {
  const d = new TicDecoder();
  return { name: 'tic', bound: DEFAULT_MAX_FRAME_BYTES, push: (c) => d.push(c).length, buffered: () => d.bufferedBytes() };
}

/** The SDI-12 receive path of Sdi12Bus: framer, then the reply parser (as a data reply with CRC). */
function sdi12Parser(random: () => number = () => 0.99): Parser {
  const framer = createSdi12Framer();
  const expects: Sdi12Expect[] = ['ack', 'identify', 'measure', 'data'];
  return {
    name: 'sdi12',
    bound: SDI12_MAX_LINE_BYTES + 2,
    push(c) {
      let n = 0;
      for (const f of framer.push(c)) {
        if (f.oversize) continue;
        const r = random();
        const expect: Sdi12Expect = r < 0.9 ? expects[Math.floor(r * 4.4)]! : 'data';
        parseSdi12Response(f.line, expect, { crc: expect === 'data' && f.line.length > 4 });
        n++;
      }
      return n;
    },
    buffered: () => framer.bufferedBytes(),
  };
}

function lineParser(pattern?: string): Parser {
  const d = new LineDecoder({ delimiter: '\n', ...(pattern ? { pattern } : {}) });
  return { name: pattern ? 'line/regex' : 'line/pairs', bound: DEFAULT_MAX_LINE_BYTES + 1, push: (c) => d.push(c).length, buffered: () => d.bufferedBytes() };
}

/** The M-Bus receive path of MbusMaster: frame reader, then the telegram decoder on each RSP_UD. */
function mbusParser(): Parser {
  const reader = new MbusFrameReader();
  return {
    name: 'mbus',
    bound: MAX_FRAME_BYTES,
    push(c) {
      let n = 0;
      for (const e of reader.push(c)) {
        if (e.type === 'frame' && e.frame.kind === 'long') {
          parseUserData(e.frame.ci, e.frame.data);
          n++;
        }
      }
      return n;
    },
    buffered: () => reader.bufferedBytes(),
  };
}

// ---------- throughput ----------

interface Throughput {
  readonly parser: string;
  readonly bytesPerSec: number;
  readonly framesPerSec: number;
}

function measure(name: string, make: () => Parser, traffic: { bytes: Buffer; frames: number }): Throughput {
  const secs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const parser = make();
    const start = process.cpuUsage();
    for (let i = 0; i < traffic.bytes.length; i += CHUNK) parser.push(traffic.bytes.subarray(i, i + CHUNK));
    const used = process.cpuUsage(start);
    secs.push((used.user + used.system) / 1e6);
  }
  const s = median(secs);
  return { parser: name, bytesPerSec: traffic.bytes.length / s, framesPerSec: traffic.frames / s };
}

// ---------- fuzzing ----------

interface FuzzResult {
  cases: number;
  crashes: number;
  overBound: number;
  embedded: number;
  recovered: number;
  firstCrash?: string;
}

function randomBytes(random: () => number, max: number): Uint8Array {
  const out = new Uint8Array(Math.floor(random() * max));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** A valid frame with 1-6 random byte changes, maybe cut, maybe with bytes inserted. */
function mutate(frame: Uint8Array, random: () => number): Uint8Array {
  let bytes = Uint8Array.from(frame);
  const changes = 1 + Math.floor(random() * 6);
  for (let k = 0; k < changes; k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
  if (random() < 0.2) bytes = bytes.subarray(0, Math.floor(random() * bytes.length));
  if (random() < 0.2) bytes = Buffer.concat([bytes, randomBytes(random, 40), frame]);
  return bytes;
}

/** Noise that cannot open, close or end a unit of the protocol. */
function cleanNoise(random: () => number, forbidden: readonly number[]): Uint8Array {
  const out = randomBytes(random, 60);
  for (let i = 0; i < out.length; i++) while (forbidden.includes(out[i]!)) out[i] = (out[i]! + 1) & 0xff;
  return out;
}

interface FuzzTarget {
  readonly make: () => Parser;
  readonly valid: (i: number) => Uint8Array;
  readonly forbidden: readonly number[];
  /** Decodes noise + frame + noise on a fresh parser; true when the frame came out intact. */
  readonly recovers: (embedded: Uint8Array, i: number) => boolean;
}

const TARGETS: Readonly<Record<'tic' | 'sdi12' | 'line' | 'mbus', FuzzTarget>> = {
  mbus: {
    make: mbusParser,
    valid: mbusTelegram,
    forbidden: [0x68, 0x10, 0xe5],
    recovers(embedded, i) {
      const frames = new MbusFrameReader().push(embedded).filter((e) => e.type === 'frame' && e.frame.kind === 'long');
      const f = frames[0];
      if (frames.length !== 1 || f?.type !== 'frame' || f.frame.kind !== 'long') return false;
      const t = parseUserData(f.frame.ci, f.frame.data);
      return t.ok && t.telegram.records.length === MBUS_RECORDS && t.telegram.records[1]!.value === (373_510 + i) * 100;
    },
  },
  tic: {
    make: ticParser,
    valid: (i) => ticFrame(i % 2 ? 'standard' : 'historique', i),
    forbidden: [0x02, 0x03, 0x04],
    recovers(embedded, i) {
      const events = new TicDecoder().push(embedded);
      const frames = events.filter((e) => e.type === 'frame');
      const want = (i % 2 ? STANDARD_GROUPS(i) : HISTORIQUE_GROUPS(i)).map((g) => `${g.label}=${g.value}`);
      return frames.length === 1 && frames[0]!.type === 'frame' && frames[0]!.groups.map((g) => `${g.label}=${g.value}`).join() === want.join();
    },
  },
  sdi12: {
    make: () => sdi12Parser(),
    valid: sdi12Exchange,
    forbidden: [0x0a],
    recovers(embedded, i) {
      const lines = createSdi12Framer().push(embedded).flatMap((f) => (f.oversize ? [] : [f.line]));
      const want = sdi12Exchange(i).toString('latin1').split('\r\n')[2]!;
      return lines.includes(want) && parseSdi12Response(want, 'data', { crc: true, address: '0' }).ok;
    },
  },
  line: {
    make: () => lineParser(),
    valid: textLine,
    forbidden: [0x0a],
    recovers(embedded, i) {
      const events = new LineDecoder().push(embedded);
      const want = textLine(i).toString('latin1').trim();
      return events.some((e) => e.type === 'reading' && e.values.T !== undefined && `T=${e.values.T.toFixed(1)};H=${e.values.H}` === want);
    },
  },
};

function fuzz(target: FuzzTarget, cases: number, seed: number): FuzzResult {
  const random = rng(seed);
  const result: FuzzResult = { cases: 0, crashes: 0, overBound: 0, embedded: 0, recovered: 0 };
  let parser = target.make();
  for (let i = 0; i < cases; i++) {
    // A long-lived parser sees inputs back to back (state carried across); renewed now and then.
    if (i % 1000 === 0) parser = target.make();
    const input = i % 2 === 0 ? randomBytes(random, 300) : mutate(target.valid(i), random);
    result.cases++;
    try {
      for (let at = 0; at < input.length; at += 1 + Math.floor(random() * 64)) {
        parser.push(input.subarray(at, at + 1 + Math.floor(random() * 64)));
        if (parser.buffered() > parser.bound) result.overBound++;
      }
      parser.push(input.subarray(0, 0));
    } catch (e) {
      result.crashes++;
      result.firstCrash ??= e instanceof Error ? e.stack ?? e.message : String(e);
      parser = target.make();
    }
    if (i % 16 === 0) {
      result.embedded++;
      const noiseEnd = target === TARGETS.sdi12 ? Buffer.from('\r\n') : target === TARGETS.line ? Buffer.from('\n') : Buffer.alloc(0);
      const embedded = Buffer.concat([cleanNoise(random, target.forbidden), noiseEnd, target.valid(i), cleanNoise(random, target.forbidden)]);
      try {
        if (target.recovers(embedded, i)) result.recovered++;
      } catch {
        result.crashes++;
      }
    }
  }
  return result;
}

/** Sdi12Session fed random reply lines and timeouts: it must always name a next step. */
function fuzzSession(cases: number, seed: number): FuzzResult {
  const random = rng(seed);
  const result: FuzzResult = { cases: 0, crashes: 0, overBound: 0, embedded: 0, recovered: 0 };
  let session = new Sdi12Session({ address: '0', crc: true, identify: true });
  for (let i = 0; i < cases; i++) {
    result.cases++;
    try {
      if (session.step.kind === 'done' || session.step.kind === 'failed') session = new Sdi12Session({ address: random() < 0.5 ? '0' : '?', crc: random() < 0.5 });
      const line = Buffer.from(randomBytes(random, 40)).toString('latin1');
      if (random() < 0.2) session.onTimeout();
      else session.onLine(random() < 0.5 ? line : `0${line.replace(/[^0-9+.-]/g, '')}`);
    } catch (e) {
      result.crashes++;
      result.firstCrash ??= e instanceof Error ? e.stack ?? e.message : String(e);
    }
  }
  return result;
}

export async function run(args: string[]): Promise<void> {
  const fuzzCases = Number(args[0] ?? 1_000_000);
  const out = (l: string) => process.stdout.write(`${l}\n`);

  const throughputs: Throughput[] = [
    measure('tic/standard', ticParser, stream((i) => ticFrame('standard', i), THROUGHPUT_BYTES)),
    measure('tic/historique', ticParser, stream((i) => ticFrame('historique', i), THROUGHPUT_BYTES)),
    measure('sdi12', () => sdi12Parser(), stream(sdi12Exchange, THROUGHPUT_BYTES)),
    measure('line/pairs', () => lineParser(), stream(textLine, THROUGHPUT_BYTES)),
    measure('line/regex', () => lineParser('T=(?<T>[-0-9.]+);H=(?<H>[0-9.]+)'), stream(textLine, THROUGHPUT_BYTES)),
    measure('mbus', mbusParser, stream(mbusTelegram, THROUGHPUT_BYTES)),
  ];
  out('throughput (CPU time, 32-byte chunks, median of 5)');
  printTable(
    throughputs.map((t) => ({
      parser: t.parser,
      'bytes/s': Math.round(t.bytesPerSec),
      'frames/s': Math.round(t.framesPerSec),
      ...Object.fromEntries(BAUDS.map((b) => [`cpu@${b}`, `${((100 * b) / BYTES_PER_CHAR / t.bytesPerSec).toPrecision(2)} %`])),
    })),
    out,
  );

  // Split: a quarter per parser family; the session fuzz rides along with SDI-12's share.
  const share = Math.floor(fuzzCases / 4);
  const results: [string, FuzzResult][] = [
    ['tic', fuzz(TARGETS.tic, share, 1)],
    ['sdi12', fuzz(TARGETS.sdi12, Math.floor(share / 2), 2)],
    ['sdi12 session', fuzzSession(share - Math.floor(share / 2), 3)],
    ['line', fuzz(TARGETS.line, share, 4)],
    ['mbus', fuzz(TARGETS.mbus, fuzzCases - 3 * share, 5)],
  ];
  out('');
  out('fuzzing (random bytes and mutated valid frames; every 16th case a valid frame inside noise)');
  printTable(results.map(([name, r]) => ({ parser: name, cases: r.cases, crashes: r.crashes, 'over bound': r.overBound, embedded: r.embedded, recovered: r.recovered })), out);
  for (const [name, r] of results) if (r.firstCrash) out(`first crash in ${name}: ${r.firstCrash}`);

  const tic = throughputs.find((t) => t.parser === 'tic/standard')!;
  // Worst parser at the fastest line rate each protocol uses (TIC standard, ASCII: 9600; SDI-12: 1200 on the wire).
  const worstShare = Math.max(
    ...throughputs.filter((t) => t.parser !== 'mbus').map((t) => (t.parser === 'sdi12' ? 1200 : t.parser === 'tic/historique' ? 1200 : 9600) / BYTES_PER_CHAR / t.bytesPerSec),
  );
  const mbus = throughputs.find((t) => t.parser === 'mbus')!;
  const mbusShare = 2400 / MBUS_BITS_PER_CHAR / mbus.bytesPerSec;
  out(`mbus at 2400 baud 8E1 (${Math.round(2400 / MBUS_BITS_PER_CHAR)} bytes/s on the wire): ${(100 * mbusShare).toPrecision(2)} % of one core`);
  const crashes = results.reduce((n, [, r]) => n + r.crashes + r.overBound, 0);
  const cases = results.reduce((n, [, r]) => n + r.cases, 0);
  const lost = results.reduce((n, [, r]) => n + (r.embedded - r.recovered), 0);
  if (lost > 0) out(`WARNING: ${lost} valid frames inside noise were not recovered`);
  printResult('serial-parse', { ticBytesPerSec: Math.round(tic.bytesPerSec), cpuShareAtLineRate: round3(worstShare), mbusBytesPerSec: Math.round(mbus.bytesPerSec), mbusCpuShareAt2400: Number(mbusShare.toPrecision(3)), fuzzCases: cases, fuzzCrashes: crashes }, out);
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
