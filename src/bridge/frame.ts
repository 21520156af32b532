/**
 * Bridge framing: newline-delimited JSON (one UTF-8 JSON object per line, "\n" ends it). A line longer
 * than maxFrameBytes is refused: its bytes are discarded up to the next newline and reported once, so
 * one oversize message costs at most maxFrameBytes of memory and never ends the connection.
 */

export const MAX_FRAME_BYTES = 65_536;

export type Frame = { readonly ok: true; readonly value: Record<string, unknown> } | { readonly ok: false; readonly code: 'E_BRIDGE_FRAME' | 'E_BRIDGE_TOO_LARGE'; readonly message: string };

const NEWLINE = 0x0a;

export class FrameReader {
  private parts: Buffer[] = [];
  private held = 0;
  /** Discarding the rest of an oversize line. */
  private skipping = false;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Every complete frame in this chunk (and what earlier chunks left), in order. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    for (let from = 0; ; ) {
      const nl = chunk.indexOf(NEWLINE, from);
      const piece = chunk.subarray(from, nl < 0 ? chunk.length : nl);
      if (!this.skipping && piece.length > 0) {
        if (this.held + piece.length > this.maxFrameBytes) frames.push(this.tooLarge());
        else {
          this.parts.push(Buffer.from(piece));
          this.held += piece.length;
        }
      }
      if (nl < 0) return frames;
      if (this.skipping) this.skipping = false;
      else if (this.held > 0) frames.push(parseFrame(Buffer.concat(this.parts)));
      this.parts = [];
      this.held = 0;
      from = nl + 1;
    }
  }

  private tooLarge(): Frame {
    this.parts = [];
    this.held = 0;
    this.skipping = true;
    return { ok: false, code: 'E_BRIDGE_TOO_LARGE', message: `a message is longer than ${this.maxFrameBytes} bytes; it was discarded` };
  }
}

function parseFrame(line: Buffer): Frame {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return { ok: false, code: 'E_BRIDGE_FRAME', message: 'a message is not valid JSON; each line must be one JSON object' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, code: 'E_BRIDGE_FRAME', message: 'a message must be a JSON object' };
  return { ok: true, value: value as Record<string, unknown> };
}

/** One frame on the wire. */
export const encodeFrame = (message: object): string => `${JSON.stringify(message)}\n`;
