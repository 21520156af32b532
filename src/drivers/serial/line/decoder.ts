/**
 * Streaming decoder of ASCII sensor lines such as `T=21.4;H=40` into numeric fields.
 * Bound: lines longer than maxLineBytes are dropped whole (up to their delimiter) and counted.
 */
import { PasserelleError } from '../../../core/errors.js';
import { LineFramer } from '../framer.js';
import { compileLinePattern, parseDecimal } from './pattern.js';
import { DEFAULT_MAX_LINE_BYTES } from './schema.js';

export interface LineDecoderOptions {
  readonly delimiter?: string;
  readonly maxLineBytes?: number;
  /** Regex with named groups; when absent the line is split into key/value pairs. */
  readonly pattern?: RegExp | string;
  readonly pairSeparator?: string;
  readonly kvSeparator?: string;
  /** Only these fields are kept (others are ignored), each value multiplied by its scale. */
  readonly fields?: Readonly<Record<string, { readonly scale?: number }>>;
}

export type LineEvent =
  | { readonly type: 'reading'; readonly values: Readonly<Record<string, number>> }
  | { readonly type: 'field-error'; readonly code: 'E_LINE_VALUE' | 'E_LINE_PAIR'; readonly field: string; readonly raw: string; readonly message: string }
  | { readonly type: 'line-error'; readonly code: 'E_LINE_NOMATCH' | 'E_LINE_OVERSIZE'; readonly message: string };

export interface LineStats {
  lines: number;
  readings: number;
  fieldErrors: number;
  noMatch: number;
  oversize: number;
}

export class LineDecoder {
  private readonly framer: LineFramer;
  private readonly pattern: RegExp | undefined;
  private readonly pairSeparator: string;
  private readonly kvSeparator: string;
  private readonly stripCr: boolean;
  private readonly maxLineBytes: number;
  private readonly counters: LineStats = { lines: 0, readings: 0, fieldErrors: 0, noMatch: 0, oversize: 0 };

  constructor(private readonly opts: LineDecoderOptions = {}) {
    const delimiter = opts.delimiter ?? '\n';
    this.maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.framer = new LineFramer({ delimiter, maxLineBytes: this.maxLineBytes, encoding: 'utf8' });
    this.stripCr = delimiter === '\n';
    this.pairSeparator = opts.pairSeparator ?? ';';
    this.kvSeparator = opts.kvSeparator ?? '=';
    if (opts.pattern !== undefined) {
      const compiled = compileLinePattern(opts.pattern);
      if (typeof compiled === 'string') throw new PasserelleError('E_LINE_PATTERN', compiled);
      this.pattern = compiled;
    }
  }

  push(chunk: Uint8Array): LineEvent[] {
    const events: LineEvent[] = [];
    for (const framed of this.framer.push(chunk)) {
      if (framed.oversize) {
        this.counters.oversize++;
        events.push({ type: 'line-error', code: 'E_LINE_OVERSIZE', message: `line longer than ${this.maxLineBytes} bytes dropped` });
        continue;
      }
      const line = this.stripCr && framed.line.endsWith('\r') ? framed.line.slice(0, -1) : framed.line;
      if (line.trim().length > 0) this.decodeLine(line, events);
    }
    return events;
  }

  /** Bytes of the partial line held; at most maxLineBytes + delimiter length. */
  bufferedBytes(): number {
    return this.framer.bufferedBytes();
  }

  stats(): LineStats {
    return { ...this.counters };
  }

  private decodeLine(line: string, events: LineEvent[]): void {
    this.counters.lines++;
    // No prototype: keys come from the device (a "__proto__" key stays a plain field).
    const values: Record<string, number> = Object.create(null) as Record<string, number>;
    let count = 0;
    const accept = (field: string, raw: string | undefined): void => {
      const spec = this.opts.fields;
      if (spec && !Object.hasOwn(spec, field)) return;
      if (raw === undefined) {
        this.counters.fieldErrors++;
        events.push({ type: 'field-error', code: 'E_LINE_PAIR', field, raw: field, message: `"${field}" has no "${this.kvSeparator}" and value` });
        return;
      }
      const n = parseDecimal(raw);
      if (n === null) {
        this.counters.fieldErrors++;
        events.push({ type: 'field-error', code: 'E_LINE_VALUE', field, raw, message: `field "${field}": "${raw}" is not a number (use . as the decimal point)` });
        return;
      }
      values[field] = n * (spec?.[field]?.scale ?? 1);
      count++;
    };
    if (this.pattern) {
      const m = this.pattern.exec(line);
      if (!m) {
        this.counters.noMatch++;
        events.push({ type: 'line-error', code: 'E_LINE_NOMATCH', message: `line does not match the pattern: ${JSON.stringify(line.slice(0, 80))}` });
        return;
      }
      for (const [field, raw] of Object.entries(m.groups ?? {})) if (raw !== undefined) accept(field, raw);
    } else {
      this.splitPairs(line, accept);
    }
    if (count > 0) {
      this.counters.readings++;
      events.push({ type: 'reading', values });
    }
  }

  private splitPairs(line: string, accept: (field: string, raw: string | undefined) => void): void {
    for (const pair of line.split(this.pairSeparator)) {
      if (pair.trim().length === 0) continue;
      const at = pair.indexOf(this.kvSeparator);
      if (at < 0) accept(pair.trim(), undefined);
      else accept(pair.slice(0, at).trim(), pair.slice(at + this.kvSeparator.length));
    }
  }
}
