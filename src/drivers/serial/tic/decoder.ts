/**
 * Streaming Linky TIC decoder: feed byte chunks split anywhere; it hunts STX, decodes each group as
 * its CR arrives (a group event per group, so a bad group costs only itself) and closes the frame at ETX.
 * Bound: a frame holds at most maxFrameBytes (STX to ETX inclusive). A longer frame is dropped and
 * counted as oversize, and the decoder hunts the next STX; nothing grows past the bound.
 */
import { PasserelleError } from '../../../core/errors.js';
import { CR, EOT, ETX, LF, STX, type TicMode } from './checksum.js';
import { isTicGroupFault, parseTicGroup, type TicGroup, type TicGroupErrorCode } from './group.js';

export interface TicGroupEvent extends TicGroup {
  readonly type: 'group';
  readonly ok: true;
}

export interface TicGroupErrorEvent {
  readonly type: 'group-error';
  readonly code: TicGroupErrorCode;
  /** The group between LF and CR, latin1. */
  readonly raw: string;
  readonly message: string;
}

export interface TicFrameEvent {
  readonly type: 'frame';
  /** Mode of the frame's first valid group; 'unknown' when no group was valid. */
  readonly mode: TicMode | 'unknown';
  /** The valid groups, in order (the same objects as their group events). */
  readonly groups: readonly TicGroup[];
  readonly droppedGroups: number;
}

/** A frame that never reached ETX. Its valid groups were already reported as group events. */
export interface TicFrameErrorEvent {
  readonly type: 'frame-error';
  /** INTERRUPTED: EOT from the meter; OVERSIZE: no ETX within maxFrameBytes; TRUNCATED: a new STX came first. */
  readonly code: 'E_TIC_INTERRUPTED' | 'E_TIC_OVERSIZE' | 'E_TIC_TRUNCATED';
  readonly message: string;
  /** Valid groups decoded before the frame was lost. */
  readonly groups: number;
}

export type TicEvent = TicGroupEvent | TicGroupErrorEvent | TicFrameEvent | TicFrameErrorEvent;

export interface TicDecoderOptions {
  /** Longest frame kept, STX to ETX inclusive. Default 2048 (a standard frame is about 600 bytes). */
  readonly maxFrameBytes?: number;
}

export interface TicStats {
  bytes: number;
  frames: number;
  groups: number;
  checksumErrors: number;
  groupErrors: number;
  oversize: number;
  interrupted: number;
  truncated: number;
  /** Bytes outside any frame (line noise, or the tail of a frame started before we listened). */
  noiseBytes: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 2048;
const MIN_FRAME_BYTES = 16;
const MAX_FRAME_BYTES = 65_536;

export class TicDecoder {
  private readonly maxFrameBytes: number;
  /** Bytes of the group being received; it cannot outgrow the frame, so maxFrameBytes suffices. */
  private readonly groupBuffer: Buffer;
  private groupLength = 0;
  private inFrame = false;
  private inGroup = false;
  private frameBytes = 0;
  private frameMode: TicMode | undefined;
  private groups: TicGroup[] = [];
  private droppedGroups = 0;
  private readonly counters: TicStats = {
    bytes: 0, frames: 0, groups: 0, checksumErrors: 0, groupErrors: 0, oversize: 0, interrupted: 0, truncated: 0, noiseBytes: 0,
  };

  constructor(opts: TicDecoderOptions = {}) {
    const max = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < MIN_FRAME_BYTES || max > MAX_FRAME_BYTES) {
      throw new PasserelleError('E_TIC_OPTIONS', `maxFrameBytes must be an integer from ${MIN_FRAME_BYTES} to ${MAX_FRAME_BYTES}, got ${max}`);
    }
    this.maxFrameBytes = max;
    this.groupBuffer = Buffer.alloc(max);
  }

  push(chunk: Uint8Array): TicEvent[] {
    const events: TicEvent[] = [];
    this.counters.bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) this.consume(chunk[i] as number, events);
    return events;
  }

  stats(): TicStats {
    return { ...this.counters };
  }

  /** Bytes of the current partial frame; never more than maxFrameBytes. */
  bufferedBytes(): number {
    return this.inFrame ? this.frameBytes : 0;
  }

  /** Forgets any partial frame (e.g. after the port was reopened). */
  reset(): void {
    this.inFrame = false;
    this.inGroup = false;
    this.frameBytes = 0;
  }

  private consume(byte: number, events: TicEvent[]): void {
    if (byte === STX) {
      if (this.inFrame) this.abortFrame(events, 'E_TIC_TRUNCATED', 'frame cut short: a new STX arrived before ETX');
      this.startFrame();
      return;
    }
    if (!this.inFrame) {
      this.counters.noiseBytes++;
      return;
    }
    if (++this.frameBytes > this.maxFrameBytes) {
      this.abortFrame(events, 'E_TIC_OVERSIZE', `no ETX within ${this.maxFrameBytes} bytes: frame dropped`);
      return;
    }
    switch (byte) {
      case ETX:
        this.endFrame(events);
        return;
      case EOT:
        this.abortFrame(events, 'E_TIC_INTERRUPTED', 'the meter interrupted the frame (EOT)');
        return;
      case LF:
        if (this.inGroup) this.rejectGroup(events, 'E_TIC_GROUP', 'group not closed by CR');
        this.inGroup = true;
        this.groupLength = 0;
        return;
      case CR:
        if (this.inGroup) this.closeGroup(events);
        return;
      default:
        // Bytes between CR and the next LF belong to no group: ignored.
        if (this.inGroup) this.groupBuffer[this.groupLength++] = byte;
    }
  }

  private startFrame(): void {
    this.inFrame = true;
    this.inGroup = false;
    this.frameBytes = 1;
    this.frameMode = undefined;
    this.groups = [];
    this.droppedGroups = 0;
  }

  private closeGroup(events: TicEvent[]): void {
    this.inGroup = false;
    const parsed = parseTicGroup(this.groupBuffer, 0, this.groupLength);
    if (isTicGroupFault(parsed)) {
      this.rejectGroup(events, parsed.code, parsed.message);
      return;
    }
    if (this.frameMode !== undefined && parsed.mode !== this.frameMode) {
      this.rejectGroup(events, 'E_TIC_GROUP', `${parsed.mode} separator inside a ${this.frameMode} frame`);
      return;
    }
    this.frameMode = parsed.mode;
    const event: TicGroupEvent = parsed.horodate
      ? { type: 'group', ok: true, mode: parsed.mode, label: parsed.label, value: parsed.value, horodate: parsed.horodate }
      : { type: 'group', ok: true, mode: parsed.mode, label: parsed.label, value: parsed.value };
    this.groups.push(event);
    this.counters.groups++;
    events.push(event);
  }

  private rejectGroup(events: TicEvent[], code: TicGroupErrorCode, message: string): void {
    this.inGroup = false;
    this.droppedGroups++;
    if (code === 'E_TIC_CHECKSUM') this.counters.checksumErrors++;
    else this.counters.groupErrors++;
    events.push({ type: 'group-error', code, raw: this.groupBuffer.toString('latin1', 0, this.groupLength), message });
  }

  private endFrame(events: TicEvent[]): void {
    if (this.inGroup) this.rejectGroup(events, 'E_TIC_GROUP', 'group not closed by CR before ETX');
    this.inFrame = false;
    this.counters.frames++;
    events.push({ type: 'frame', mode: this.frameMode ?? 'unknown', groups: this.groups, droppedGroups: this.droppedGroups });
  }

  private abortFrame(events: TicEvent[], code: TicFrameErrorEvent['code'], message: string): void {
    this.inFrame = false;
    this.inGroup = false;
    if (code === 'E_TIC_OVERSIZE') this.counters.oversize++;
    else if (code === 'E_TIC_INTERRUPTED') this.counters.interrupted++;
    else this.counters.truncated++;
    events.push({ type: 'frame-error', code, message, groups: this.groups.length });
  }
}
