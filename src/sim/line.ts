/**
 * A field device that prints ASCII lines such as `T=21.4;H=40` on a serial port, with optional
 * noise, cut lines and corrupted values (`badChecksums` here turns a value into garbage text).
 */
import type { SerialPort } from 'serialport';
import { FaultInjector, openSimulatorPort, runStreamingLoop, seededRandom, writeAll, type FaultCounts, type SerialFaults } from './serial-noise.js';

export interface LineSimulatorOptions {
  readonly path: string;
  readonly intervalMs?: number;
  readonly baudRate?: number;
  readonly faults?: SerialFaults;
  readonly seed?: number;
  /** The values of one line at time t; default a temperature and a humidity drifting slowly. */
  readonly values?: (t: number) => Readonly<Record<string, number>>;
  readonly pairSeparator?: string;
  readonly kvSeparator?: string;
  readonly delimiter?: string;
}

export interface SentLine {
  readonly ts: number;
  readonly values: Readonly<Record<string, number>>;
  /** Sent whole and uncorrupted: a decoder must recover exactly these values. */
  readonly intact: boolean;
}

export interface LineSimulator {
  readonly path: string;
  sentLines(): readonly SentLine[];
  counts(): FaultCounts & { lines: number };
  stop(): Promise<void>;
}

const MAX_SENT_LINES = 1000;

export const demoLineValues = (t: number): Record<string, number> => ({
  T: Math.round((21 + 2 * Math.sin((2 * Math.PI * t) / 300_000)) * 10) / 10,
  H: Math.round(45 + 8 * Math.sin((2 * Math.PI * t) / 420_000 + 1)),
});

/** `T=21.4;H=40` from values, with the given separators. */
export function formatLine(values: Readonly<Record<string, number>>, pairSeparator = ';', kvSeparator = '='): string {
  return Object.entries(values).map(([k, v]) => `${k}${kvSeparator}${v}`).join(pairSeparator);
}

export async function startLineSimulator(opts: LineSimulatorOptions): Promise<LineSimulator> {
  const random = seededRandom(opts.seed ?? 1);
  const delimiter = opts.delimiter ?? '\r\n';
  const lastDelimiterByte = delimiter.charCodeAt(delimiter.length - 1);
  // Noise without the delimiter's last byte: it then only ever prefixes the next line, which must be dropped.
  const faults = new FaultInjector(opts.faults ?? {}, random, new Set([lastDelimiterByte]));
  const port: SerialPort = await openSimulatorPort(opts.path, opts.baudRate ?? 9600, 8, 'none');
  const values = opts.values ?? demoLineValues;
  const sent: SentLine[] = [];
  const totals = { lines: 0 };
  // A cut line or trailing noise runs into the next line: that one is not intact either.
  let nextTainted = false;
  const loop = runStreamingLoop(port, async (pause) => {
    const ts = Date.now();
    const v = values(ts);
    let text = formatLine(v, opts.pairSeparator, opts.kvSeparator);
    const corrupt = faults.corruptChecksum();
    if (corrupt) text = text.replace(/=[^;]*/, '=#?');
    const { bytes, cut } = faults.maybeCut(Buffer.from(`${text}${delimiter}`, 'latin1'));
    const noise = faults.noise();
    await writeAll(port, Buffer.concat([bytes, noise]));
    totals.lines++;
    sent.push({ ts, values: v, intact: !corrupt && !cut && !nextTainted });
    if (sent.length > MAX_SENT_LINES) sent.shift();
    nextTainted = cut || noise.length > 0;
    await pause(opts.intervalMs ?? 1000);
  });

  return {
    path: opts.path,
    sentLines: () => sent.slice(),
    counts: () => ({ ...faults.counts, ...totals }),
    stop: loop.stop,
  };
}
