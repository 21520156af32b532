/**
 * Bounded delimiter framing shared by the line-oriented serial parsers (SDI-12, generic ASCII lines).
 * Unlike serialport's DelimiterParser, the buffer has a fixed capacity: a line longer than
 * maxLineBytes is discarded up to its delimiter and counted, never buffered.
 */
import { PasserelleError } from '../../core/errors.js';

export interface LineFramerOptions {
  /** One to eight bytes, e.g. "\r\n" for SDI-12 or "\n". */
  readonly delimiter: string;
  /** Longest line content (delimiter excluded) kept; longer lines are dropped whole. */
  readonly maxLineBytes: number;
  /** How a line's bytes become text: latin1 (byte = char, for 7-bit protocols) or utf8. */
  readonly encoding?: 'latin1' | 'utf8';
}

/** What push() reports for each delimiter seen: the line's text, or that an oversize line was dropped. */
export type FramedLine = { readonly line: string; readonly oversize?: false } | { readonly oversize: true; readonly droppedBytes: number };

export const MAX_DELIMITER_BYTES = 8;

export class LineFramer {
  private readonly delimiter: Buffer;
  private readonly buffer: Buffer;
  private readonly encoding: 'latin1' | 'utf8';
  private length = 0;
  /** True while skipping the rest of a line that outgrew the buffer. */
  private discarding = false;
  private discardedBytes = 0;
  private oversizeCount = 0;

  constructor(opts: LineFramerOptions) {
    this.delimiter = Buffer.from(opts.delimiter, 'latin1');
    if (this.delimiter.length < 1 || this.delimiter.length > MAX_DELIMITER_BYTES) {
      throw new PasserelleError('E_FRAMER_DELIMITER', `line delimiter must be 1 to ${MAX_DELIMITER_BYTES} bytes`);
    }
    if (!Number.isInteger(opts.maxLineBytes) || opts.maxLineBytes < 1) {
      throw new PasserelleError('E_FRAMER_BOUND', `maxLineBytes must be a positive integer, got ${opts.maxLineBytes}`);
    }
    this.encoding = opts.encoding ?? 'latin1';
    // Room for the longest line plus its delimiter: the delimiter is recognised at the buffer's tail.
    this.buffer = Buffer.alloc(opts.maxLineBytes + this.delimiter.length);
  }

  /** Feeds bytes; returns one entry per delimiter seen in this chunk. A partial line stays buffered. */
  push(chunk: Uint8Array): FramedLine[] {
    const out: FramedLine[] = [];
    const delimLen = this.delimiter.length;
    const lastDelimByte = this.delimiter[delimLen - 1];
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      this.buffer[this.length++] = byte;
      if (byte === lastDelimByte && this.endsWithDelimiter()) {
        out.push(this.takeLine(this.length - delimLen));
        continue;
      }
      // Full without a delimiter at the end: the content is already longer than maxLineBytes.
      if (this.length === this.buffer.length) this.overflow();
    }
    return out;
  }

  /** Bytes of the partial line held now; never more than maxLineBytes + delimiter length. */
  bufferedBytes(): number {
    return this.length;
  }

  /** Lines dropped because they exceeded maxLineBytes. */
  oversizeLines(): number {
    return this.oversizeCount;
  }

  /** Forgets the partial line (e.g. after a port reopen). */
  reset(): void {
    this.length = 0;
    this.discarding = false;
    this.discardedBytes = 0;
  }

  private endsWithDelimiter(): boolean {
    const delimLen = this.delimiter.length;
    if (this.length < delimLen) return false;
    const start = this.length - delimLen;
    for (let k = 0; k < delimLen - 1; k++) {
      if (this.buffer[start + k] !== this.delimiter[k]) return false;
    }
    return true;
  }

  private takeLine(contentLength: number): FramedLine {
    if (this.discarding) {
      const droppedBytes = this.discardedBytes + contentLength;
      this.reset();
      this.oversizeCount++;
      return { oversize: true, droppedBytes };
    }
    const line = this.buffer.toString(this.encoding, 0, contentLength);
    this.length = 0;
    return { line };
  }

  /**
   * The line is longer than the bound: from now on it is being dropped. Keep only the last
   * delimiter-length-minus-one bytes, which may be the start of the delimiter that ends it.
   */
  private overflow(): void {
    const keep = this.delimiter.length - 1;
    this.discarding = true;
    this.discardedBytes += this.length - keep;
    this.buffer.copyWithin(0, this.length - keep, this.length);
    this.length = keep;
  }
}

/** One JSON-lines record of `passerelle decode`: a decoded group or reading, or what went wrong. */
export type CaptureRecord = {
  readonly protocol: 'tic' | 'sdi12' | 'line' | 'mbus';
  readonly ok: boolean;
  readonly error?: { readonly code: string; readonly message: string };
} & Record<string, unknown>;

export const captureError = (protocol: CaptureRecord['protocol'], code: string, message: string, extra: Record<string, unknown> = {}): CaptureRecord => ({
  protocol,
  ok: false,
  error: { code, message },
  ...extra,
});
