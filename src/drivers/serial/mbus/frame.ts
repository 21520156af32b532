/**
 * M-Bus link layer frames (EN 13757-2, FT1.2): the single character E5, the short frame
 * 10 C A CS 16, and the control/long frame 68 L L 68 C A CI data CS 16 (L = 3 + data, at most 255).
 * The checksum is the 8-bit sum of C, A, CI and data. MbusFrameReader cuts frames out of a byte
 * stream with a bounded buffer, skipping and counting whatever is not a frame (noise, collisions).
 */

export const ACK = 0xe5;
export const SHORT_START = 0x10;
export const LONG_START = 0x68;
export const STOP = 0x16;
/** Longest frame on the wire: 4 header + 255 (C, A, CI, 252 data) + CS + stop. */
export const MAX_FRAME_BYTES = 261;
export const MAX_USER_DATA = 252;

/** Control field values, master to slave; FCB (0x20) alternates on REQ_UD2/SND_UD, FCV (0x10) says it counts. */
export const C_SND_NKE = 0x40;
export const C_SND_UD = 0x53;
export const C_REQ_UD2 = 0x5b;
export const FCB = 0x20;
/** Slave to master: RSP_UD is 0x08 with the ACD (0x20) and DFC (0x10) bits possibly set. */
export const C_RSP_UD = 0x08;
export const isRspUd = (c: number): boolean => (c & 0xcf) === C_RSP_UD;

/** Addresses: 0 unconfigured, 1-250 primary, 253 the meter selected by secondary address, 254 test (all answer), 255 broadcast (none answer). */
export const ADDR_UNCONFIGURED = 0;
export const ADDR_MAX_PRIMARY = 250;
export const ADDR_NETWORK = 0xfd;
export const ADDR_TEST = 0xfe;
export const ADDR_BROADCAST = 0xff;

/** CI of the master's "select slave" SND_UD (secondary address). */
export const CI_SELECT = 0x52;

export type MbusFrame =
  | { readonly kind: 'ack' }
  | { readonly kind: 'short'; readonly c: number; readonly a: number }
  | { readonly kind: 'long'; readonly c: number; readonly a: number; readonly ci: number; readonly data: Uint8Array };

export const checksum = (bytes: ArrayLike<number>, from = 0, to = bytes.length): number => {
  let sum = 0;
  for (let i = from; i < to; i++) sum = (sum + bytes[i]!) & 0xff;
  return sum;
};

export function encodeShort(c: number, a: number): Buffer {
  return Buffer.from([SHORT_START, c, a, (c + a) & 0xff, STOP]);
}

export function encodeLong(c: number, a: number, ci: number, data: ArrayLike<number> = []): Buffer {
  if (data.length > MAX_USER_DATA) throw new RangeError(`M-Bus long frame data is at most ${MAX_USER_DATA} bytes, got ${data.length}`);
  const l = data.length + 3;
  const out = Buffer.alloc(l + 6);
  out[0] = LONG_START;
  out[1] = l;
  out[2] = l;
  out[3] = LONG_START;
  out[4] = c;
  out[5] = a;
  out[6] = ci;
  for (let i = 0; i < data.length; i++) out[7 + i] = data[i]!;
  out[l + 4] = checksum(out, 4, l + 4);
  out[l + 5] = STOP;
  return out;
}

export function encodeFrame(f: MbusFrame): Buffer {
  if (f.kind === 'ack') return Buffer.from([ACK]);
  return f.kind === 'short' ? encodeShort(f.c, f.a) : encodeLong(f.c, f.a, f.ci, f.data);
}

export type FrameEvent =
  | { readonly type: 'frame'; readonly frame: MbusFrame; readonly raw: Uint8Array }
  | { readonly type: 'error'; readonly code: 'E_MBUS_CHECKSUM'; readonly message: string; readonly raw: Uint8Array };

export interface FrameReaderCounters {
  frames: number;
  checksumErrors: number;
  /** Bytes that belonged to no frame: line noise, or two slaves answering at once. */
  garbageBytes: number;
}

/**
 * Incremental frame cutter. A byte that cannot start a frame is skipped; a 68 whose two lengths
 * differ, or whose second 68 is missing, is taken as noise and the search restarts one byte later.
 * The buffer never holds more than one frame (MAX_FRAME_BYTES).
 */
export class MbusFrameReader {
  private readonly buf = Buffer.alloc(MAX_FRAME_BYTES);
  private len = 0;
  readonly counters: FrameReaderCounters = { frames: 0, checksumErrors: 0, garbageBytes: 0 };

  push(chunk: Uint8Array): FrameEvent[] {
    const events: FrameEvent[] = [];
    for (const byte of chunk) {
      this.buf[this.len++] = byte;
      this.scan(events);
    }
    return events;
  }

  bufferedBytes(): number {
    return this.len;
  }

  reset(): void {
    this.len = 0;
  }

  private scan(events: FrameEvent[]): void {
    for (;;) {
      if (this.len === 0) return;
      const need = this.expected();
      if (need === 'skip') {
        this.drop(1);
        this.counters.garbageBytes++;
        continue;
      }
      if (need === undefined || this.len < need) return;
      if (need > 1 && this.buf[need - 1] !== STOP) {
        // Not a frame after all: its start byte was noise; look again from the next byte.
        this.drop(1);
        this.counters.garbageBytes++;
        continue;
      }
      const raw = Uint8Array.from(this.buf.subarray(0, need));
      this.drop(need);
      events.push(this.complete(raw));
    }
  }

  /** Bytes the frame at the head of the buffer needs, undefined while unknown, 'skip' when the head is no frame start. */
  private expected(): number | 'skip' | undefined {
    const b = this.buf;
    switch (b[0]) {
      case ACK:
        return 1;
      case SHORT_START:
        return 5;
      case LONG_START:
        if (this.len < 4) return this.len >= 3 && b[1] !== b[2] ? 'skip' : undefined;
        if (b[1] !== b[2] || b[3] !== LONG_START || b[1]! < 3) return 'skip';
        return b[1]! + 6;
      default:
        return 'skip';
    }
  }

  private complete(raw: Uint8Array): FrameEvent {
    if (raw.length === 1) {
      this.counters.frames++;
      return { type: 'frame', frame: { kind: 'ack' }, raw };
    }
    const body = raw[0] === SHORT_START ? 1 : 4;
    const csAt = raw.length - 2;
    const sum = checksum(raw, body, csAt);
    if (sum !== raw[csAt]) {
      this.counters.checksumErrors++;
      return { type: 'error', code: 'E_MBUS_CHECKSUM', message: `checksum ${hex(raw[csAt]!)} but the bytes sum to ${hex(sum)}`, raw };
    }
    this.counters.frames++;
    const frame: MbusFrame = body === 1
      ? { kind: 'short', c: raw[1]!, a: raw[2]! }
      : { kind: 'long', c: raw[4]!, a: raw[5]!, ci: raw[6]!, data: raw.subarray(7, csAt) };
    return { type: 'frame', frame, raw };
  }

  private drop(n: number): void {
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
  }
}

export const hex = (b: number): string => `${b.toString(16).toUpperCase().padStart(2, '0')}h`;
