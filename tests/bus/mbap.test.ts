/** Modbus TCP framing: the reader cuts the same frames from any split of a stream; garbage classifies, never throws. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MbapReader, readReply, readRequest, writeReply, writeRequest } from '../../src/bus/mbap.js';
import { ModbusFailure } from '../../src/bus/modbus-failure.js';

const adu = (transaction: number, unit: number, pdu: readonly number[]): Buffer => {
  const b = Buffer.alloc(7 + pdu.length);
  b.writeUInt16BE(transaction, 0);
  b.writeUInt16BE(pdu.length + 1, 4);
  b[6] = unit;
  b.set(pdu, 7);
  return b;
};

const arbFrame = fc
  .record({ transaction: fc.integer({ min: 0, max: 0xffff }), unit: fc.integer({ min: 0, max: 255 }), pdu: fc.uint8Array({ minLength: 1, maxLength: 253 }) })
  .map(({ transaction, unit, pdu }) => adu(transaction, unit, [...pdu]));

/** Cuts `stream` at the given points (any number, anywhere, empty pieces included). */
function split(stream: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const c of at) (pieces.push(stream.subarray(from, c)), (from = c));
  pieces.push(stream.subarray(from));
  return pieces;
}

/**
 * Feeds the pieces to a reader. `reused`: as the TCP client does, each piece is copied into one buffer
 * reused for every read, which still holds older bytes past the piece's length.
 */
function readAll(pieces: Buffer[], reused = false): { frames: Buffer[]; inSync: boolean } {
  const reader = new MbapReader();
  const frames: Buffer[] = [];
  const shared = Buffer.alloc(Math.max(0, ...pieces.map((p) => p.length)) + 16, 0xa5);
  let inSync = true;
  for (const p of pieces) {
    const onFrame = (f: Buffer, size: number): number => frames.push(Buffer.from(f.subarray(0, size)));
    if (!reused) inSync = reader.push(p, onFrame) && inSync;
    else inSync = (p.copy(shared), reader.push(shared, onFrame, p.length)) && inSync;
  }
  return { frames, inSync };
}

describe('MbapReader', () => {
  it('cuts the same frames from any split of a valid stream (several frames per chunk, partial frames)', () => {
    fc.assert(
      fc.property(fc.array(arbFrame, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (frames, cuts) => {
        const stream = Buffer.concat(frames);
        for (const reused of [false, true]) {
          const got = readAll(split(stream, cuts), reused);
          expect(got.inSync).toBe(true);
          expect(got.frames).toEqual(frames);
        }
      }),
    );
  });

  it('never throws on garbage: it yields well-formed frames or says the stream is out of sync', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const pieces = split(Buffer.from(bytes), cuts);
        const got = readAll(pieces);
        for (const f of got.frames) expect(f.readUInt16BE(4)).toBe(f.length - 6);
        expect(readAll(pieces, true)).toEqual(got); // bytes left in a reused buffer are never read
      }),
    );
  });

  it('says out of sync on an impossible length field (0, 1 or above 254), and keeps nothing', () => {
    for (const length of [0, 1, 255, 0xffff]) {
      const bad = Buffer.from([0, 1, 0, 0, length >> 8, length & 0xff, 1, 3]);
      const reader = new MbapReader();
      expect(reader.push(bad, () => expect.fail('no frame'))).toBe(false);
      const frames: Buffer[] = [];
      expect(reader.push(adu(2, 1, [3, 2, 0, 7]), (f, size) => frames.push(f.subarray(0, size)))).toBe(true);
      expect(frames).toHaveLength(1);
    }
  });
});

describe('replies', () => {
  it('decodes registers and bits of a read reply', () => {
    expect(readReply(adu(1, 1, [3, 4, 0x12, 0x34, 0xff, 0xff]), 3, 2)).toEqual([0x1234, 0xffff]);
    expect(readReply(adu(1, 1, [1, 2, 0b1000_0101, 0b1]), 1, 9)).toEqual([1, 0, 1, 0, 0, 0, 0, 1, 1]);
  });

  it.each([
    ['an exception', [0x83, 2], { reason: 'exception', exceptionCode: 2 }],
    ['an exception cut short', [0x83], { reason: 'frame', detail: 'short' }],
    ['another function', [0, 4, 0, 0, 0, 0], { reason: 'frame', detail: 'garbled' }],
    ['fewer bytes than asked', [3, 2, 0, 1], { reason: 'frame', detail: 'short' }],
    ['a byte count that lies', [3, 4, 0, 1], { reason: 'frame', detail: 'short' }],
  ])('classifies %s', (_, pdu, expected) => {
    expect(readReply(adu(1, 1, pdu), 3, 2)).toMatchObject(expected);
  });

  it('classifies any reply bytes: values of the asked count, or a ModbusFailure', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 253 }), fc.constantFrom(1, 2, 3, 4), fc.integer({ min: 1, max: 125 }), (pdu, fn, count) => {
        const reply = readReply(adu(1, 1, [...pdu]), fn as 1 | 2 | 3 | 4, count);
        if (reply instanceof ModbusFailure) expect(['exception', 'frame']).toContain(reply.reason);
        else expect(reply).toHaveLength(count);
        const written = writeReply(adu(1, 1, [...pdu]), 6);
        if (written) expect(['exception', 'frame']).toContain(written.reason);
        // The same ADU at the start of a larger (reused) buffer, its size given: the same verdicts.
        const padded = Buffer.concat([adu(1, 1, [...pdu]), Buffer.alloc(260, 0x5a)]);
        expect(readReply(padded, fn as 1 | 2 | 3 | 4, count, pdu.length + 7)).toEqual(reply);
        expect(writeReply(padded, 6, pdu.length + 7)).toEqual(written);
      }),
    );
  });

  it('reads every register of a reply as its big-endian pair of bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 125 }), fc.constantFrom(3, 4), (registers, fn) => {
        const data = Buffer.alloc(registers.length * 2);
        registers.forEach((r, i) => data.writeUInt16BE(r, i * 2));
        expect(readReply(adu(7, 1, [fn, data.length, ...data]), fn as 3 | 4, registers.length)).toEqual(registers);
      }),
    );
  });

  it('builds requests as the spec lays them out', () => {
    expect([...readRequest(0x0102, 7, 4, 0x156, 2)]).toEqual([1, 2, 0, 0, 0, 6, 7, 4, 0x01, 0x56, 0, 2]);
    expect([...writeRequest(9, 1, { fn: 5, address: 3, value: true })]).toEqual([0, 9, 0, 0, 0, 6, 1, 5, 0, 3, 0xff, 0]);
    expect([...writeRequest(9, 1, { fn: 16, address: 3, values: [0x1234, 5] })]).toEqual([0, 9, 0, 0, 0, 11, 1, 16, 0, 3, 0, 2, 4, 0x12, 0x34, 0, 5]);
  });
});
