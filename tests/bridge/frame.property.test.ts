/** The bridge's frame parser: garbage never crashes it, oversize lines are refused, splits never matter. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameReader, encodeFrame } from '../../src/bridge/frame.js';

/** Cuts a buffer at the given (sorted, deduplicated) offsets. */
function cut(buf: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((a) => a % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(buf.subarray(from, p));
    from = p;
  }
  parts.push(buf.subarray(from));
  return parts;
}

describe('FrameReader', () => {
  it('never throws on arbitrary bytes, and every frame is an object or a coded refusal', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.integer({ min: 1, max: 200 }), (chunks, max) => {
        const reader = new FrameReader(max);
        for (const c of chunks) {
          for (const f of reader.push(Buffer.from(c))) {
            if (f.ok) expect(typeof f.value).toBe('object');
            else expect(['E_BRIDGE_FRAME', 'E_BRIDGE_TOO_LARGE']).toContain(f.code);
          }
        }
      }),
    );
  });

  it('gives back the objects sent, however the stream is cut', () => {
    const message = fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)), { maxKeys: 5 });
    fc.assert(
      fc.property(fc.array(message, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (messages, at) => {
        const reader = new FrameReader(65_536);
        const got = cut(Buffer.from(messages.map(encodeFrame).join('')), at).flatMap((c) => reader.push(c));
        expect(got).toEqual(messages.map((m) => ({ ok: true, value: JSON.parse(JSON.stringify(m)) })));
      }),
    );
  });

  it('refuses a line over the bound once, then reads the next line', () => {
    fc.assert(
      fc.property(fc.integer({ min: 7, max: 64 }), fc.integer({ min: 1, max: 500 }), fc.array(fc.nat(), { maxLength: 8 }), (max, extra, at) => {
        const reader = new FrameReader(max);
        const stream = Buffer.from(`${'x'.repeat(max + extra)}\n{"a":1}\n`);
        const frames = cut(stream, at).flatMap((c) => reader.push(c));
        const refusals = frames.filter((f) => !f.ok);
        expect(refusals).toHaveLength(1);
        expect(refusals[0]).toMatchObject({ code: 'E_BRIDGE_TOO_LARGE' });
        expect(frames.at(-1)).toEqual({ ok: true, value: { a: 1 } });
      }),
    );
  });

  it('refuses what is not a JSON object', () => {
    const reader = new FrameReader();
    expect(reader.push(Buffer.from('[1]\n42\n{oops\n'))).toEqual([
      expect.objectContaining({ ok: false, code: 'E_BRIDGE_FRAME' }),
      expect.objectContaining({ ok: false, code: 'E_BRIDGE_FRAME' }),
      expect.objectContaining({ ok: false, code: 'E_BRIDGE_FRAME' }),
    ]);
  });
});
