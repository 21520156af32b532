/**
 * Modbus RTU framing, shared by the RTU simulator and tests: CRC trailer, the length of a request from its
 * first bytes, and the wire time of a frame. Pure.
 */
import { crc16modbus } from './crc.js';
import { BITS_PER_CHAR } from './wire-cost.js';

/** Largest RTU frame (Modbus over serial line 1.02, 2.5.1). */
export const MAX_RTU_FRAME = 256;

/** Appends the CRC, low byte first. */
export function withCrc(body: Uint8Array): Buffer {
  const frame = Buffer.alloc(body.length + 2);
  frame.set(body);
  frame.writeUInt16LE(crc16modbus(body), body.length);
  return frame;
}

export function hasValidCrc(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const body = frame.subarray(0, frame.length - 2);
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).readUInt16LE(frame.length - 2) === crc16modbus(body);
}

/**
 * Length of the request frame that starts with `head` (unit, function, ...): a number once it is known,
 * undefined while more bytes are needed to tell, 'unknown' for a function this table does not know
 * (the frame then ends at the next silence).
 */
export function requestFrameLength(head: Uint8Array): number | 'unknown' | undefined {
  if (head.length < 2) return undefined;
  const fc = head[1]!;
  if (fc >= 1 && fc <= 6) return 8; // unit, fc, address (2), quantity or value (2), CRC (2)
  if (fc === 15 || fc === 16) return head.length < 7 ? undefined : 9 + head[6]!; // ... byte count, data, CRC
  return 'unknown';
}

/** Time in ms to send `bytes` characters at `baud` (11 bits per character). */
export const wireMs = (bytes: number, baud: number): number => (bytes * BITS_PER_CHAR * 1000) / baud;
