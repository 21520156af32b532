import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16modbus } from '../../src/drivers/modbus/crc.js';

const bytes = (hex: string): Uint8Array => Uint8Array.from(hex.trim().split(/\s+/).map((h) => parseInt(h, 16)));

/** Frames from the shared hardware reference, each ending in its CRC sent low byte first. */
const REFERENCE_FRAMES = [
  '01 04 00 00 00 02 71 CB',
  '01 04 04 43 66 33 34 1B 38',
  '01 03 00 00 00 03 05 CB',
  '01 03 06 02 92 FF 9B 03 E8 D8 0F',
  '01 04 00 00 00 03 B0 0B',
  '01 04 06 08 90 0E 93 02 4E D2 57',
  'FE 04 00 03 00 01 D5 C5',
  'FE 04 02 01 90 AC D8',
  '01 84 02 C2 C1',
];

describe('crc16modbus', () => {
  it('has the catalogue check value 0x4B37 for "123456789"', () => {
    expect(crc16modbus(new TextEncoder().encode('123456789'))).toBe(0x4b37);
  });

  it('gives 0xCB71 for 01 04 00 00 00 02 (sent 71 CB)', () => {
    expect(crc16modbus(bytes('01 04 00 00 00 02'))).toBe(0xcb71);
  });

  it.each(REFERENCE_FRAMES)('matches the CRC carried by %s', (frame) => {
    const b = bytes(frame);
    const body = b.subarray(0, -2);
    expect(crc16modbus(body)).toBe(b[b.length - 2]! | (b[b.length - 1]! << 8));
  });

  it('leaves a zero residue over a message followed by its CRC (low byte first)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (msg) => {
        const crc = crc16modbus(msg);
        expect(crc16modbus(Uint8Array.from([...msg, crc & 0xff, crc >> 8]))).toBe(0);
      }),
    );
  });

  it('detects every single-bit error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (msg, n) => {
        const bit = n % (msg.length * 8);
        const flipped = Uint8Array.from(msg);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        expect(crc16modbus(flipped)).not.toBe(crc16modbus(msg));
      }),
    );
  });
});
