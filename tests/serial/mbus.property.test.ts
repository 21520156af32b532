import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeMbusCapture,
  encodeRspUd,
  MAX_FRAME_BYTES,
  MbusFrameReader,
  parseUserData,
  type DataType,
  type RecordInput,
} from '../../src/drivers/serial/mbus/index.js';
import { arbChunkedBytes, arbCuts, feed, splitAt } from './helpers.js';

/** Integer types and VIFs whose value is raw * 10^n: energy Wh (03h: 1 Wh), volume (16h: 1 m3), power (2Bh: 1 W). */
const arbIntRecord: fc.Arbitrary<RecordInput> = fc.record({
  type: fc.constantFrom<DataType>('int8', 'int16', 'int24', 'int32', 'int48', 'bcd2', 'bcd4', 'bcd6', 'bcd8', 'bcd12'),
  vif: fc.constantFrom([0x03], [0x16], [0x2b]),
  raw: fc.integer({ min: 0, max: 99 }),
  function: fc.constantFrom<0 | 1 | 2 | 3>(0, 1, 2, 3),
  storage: fc.integer({ min: 0, max: 1000 }),
  tariff: fc.integer({ min: 0, max: 15 }),
  subunit: fc.integer({ min: 0, max: 3 }),
});
const arbHeader = fc.record({
  id: fc.stringMatching(/^[0-9]{8}$/),
  manufacturer: fc.stringMatching(/^[A-Z]{3}$/),
  version: fc.integer({ min: 0, max: 255 }),
  medium: fc.integer({ min: 0, max: 255 }),
  accessNumber: fc.integer({ min: 0, max: 255 }),
});
const arbTelegram = fc.record({ address: fc.integer({ min: 1, max: 250 }), header: arbHeader, records: fc.array(arbIntRecord, { maxLength: 12 }) });
/** Noise that cannot start a frame (68h, 10h, E5h), so the frame around it must come out whole. */
const arbNoise = fc.uint8Array({ maxLength: 60 }).map((b) => b.filter((x) => x !== 0x68 && x !== 0x10 && x !== 0xe5));

describe('M-Bus decoder properties', () => {
  it('random bytes in random chunks never throw and never buffer more than one frame', () => {
    fc.assert(
      fc.property(arbChunkedBytes(1500), (chunks) => {
        const reader = new MbusFrameReader();
        for (const chunk of chunks) {
          reader.push(chunk);
          expect(reader.bufferedBytes()).toBeLessThanOrEqual(MAX_FRAME_BYTES);
        }
        expect(() => decodeMbusCapture(Buffer.concat(chunks))).not.toThrow();
      }),
    );
  });

  it('any user data never throws, and yields at most one record per byte', () => {
    fc.assert(
      fc.property(fc.constantFrom(0x72, 0x78, 0x7a), fc.uint8Array({ maxLength: 252 }), (ci, data) => {
        const r = parseUserData(ci, data);
        if (r.ok) expect(r.telegram.records.length).toBeLessThanOrEqual(data.length);
      }),
    );
  });

  it('every encoded telegram between noise decodes to what was encoded, however it is chunked', () => {
    fc.assert(
      fc.property(arbTelegram, arbNoise, arbNoise, fc.gen(), (t, before, after, gen) => {
        const frame = encodeRspUd(t.address, t.header, t.records);
        fc.pre(frame.length <= MAX_FRAME_BYTES);
        const stream = Buffer.concat([before, frame, after]);
        const events = feed(new MbusFrameReader(), splitAt(stream, gen(arbCuts, stream.length)));
        expect(events).toHaveLength(1);
        const e = events[0]!;
        if (e.type !== 'frame' || e.frame.kind !== 'long') throw new Error('no long frame');
        expect(e.frame.a).toBe(t.address);
        const parsed = parseUserData(e.frame.ci, e.frame.data);
        if (!parsed.ok) throw new Error(parsed.message);
        expect(parsed.telegram.header).toMatchObject(t.header);
        expect(parsed.telegram.problem).toBeUndefined();
        const fns = ['instantaneous', 'maximum', 'minimum', 'error'];
        expect(parsed.telegram.records.map((r) => [r.value, r.function, r.storage, r.tariff, r.subunit])).toEqual(
          t.records.map((r) => [r.raw, fns[r.function ?? 0], r.storage, r.tariff, r.subunit]),
        );
      }),
    );
  });

  it('a valid frame with bytes flipped never throws and never reports a wrong checksum as good', () => {
    fc.assert(
      fc.property(arbTelegram, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 255 }), (t, at, xor) => {
        const frame = encodeRspUd(t.address, t.header, t.records);
        fc.pre(frame.length <= MAX_FRAME_BYTES);
        const i = 7 + (at % (frame.length - 9)); // inside C..data, not the header or checksum
        frame[i] = frame[i]! ^ xor;
        const events = new MbusFrameReader().push(frame);
        expect(events.filter((e) => e.type === 'frame' && e.frame.kind === 'long')).toEqual([]);
        expect(() => decodeMbusCapture(frame)).not.toThrow();
      }),
    );
  });
});
