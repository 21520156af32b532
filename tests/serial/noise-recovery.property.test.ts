/**
 * Field conditions for the line-oriented parsers: a valid unit embedded in noise is still decoded,
 * random input never throws nor grows a buffer past its bound, and the SDI-12 session always names a
 * next step whatever the sensor says.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineDecoder } from '../../src/drivers/serial/line/index.js';
import { createSdi12Framer, crc16arc, parseSdi12Response, sdi12CrcChars, Sdi12Session, SDI12_MAX_LINE_BYTES } from '../../src/drivers/serial/sdi12/index.js';
import { arbChunkedBytes, arbCuts, feed, splitAt } from './helpers.js';

/** Noise without a line feed: it can only damage the line it is part of. */
const arbNoise = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b.filter((x) => x !== 0x0a)));
const arbValue = fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((v) => Math.round(v * 100) / 100 + 0); // + 0: no -0, which a decoder cannot tell from 0

describe('line decoder in noise', () => {
  it('decodes a valid line preceded by a noise line and followed by a partial one, however chunked', () => {
    fc.assert(
      fc.property(arbNoise, arbValue, arbValue, arbNoise, fc.gen(), (before, t, h, after, gen) => {
        const stream = Buffer.concat([before, Buffer.from(`\nT=${t};H=${h}\r\n`), after]);
        const events = feed(new LineDecoder({ fields: { T: {}, H: {} } }), splitAt(stream, gen(arbCuts, stream.length)));
        expect(events.filter((e) => e.type === 'reading').at(-1)).toEqual({ type: 'reading', values: { T: t, H: h } });
      }),
    );
  });

  it('a line longer than the bound is dropped and counted, the next one decodes, the buffer stays bounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 16, max: 64 }), fc.integer({ min: 1, max: 300 }), arbValue, (maxLineBytes, extra, t) => {
        const decoder = new LineDecoder({ maxLineBytes }); // 16 bytes hold the longest "T=-999999.99"
        const long = Buffer.alloc(maxLineBytes + extra, 0x41);
        decoder.push(long);
        expect(decoder.bufferedBytes()).toBeLessThanOrEqual(maxLineBytes + 1);
        const events = decoder.push(Buffer.from(`\nT=${t}\n`));
        expect(decoder.stats().oversize).toBe(1);
        expect(events.at(-1)).toEqual({ type: 'reading', values: { T: t } });
      }),
    );
  });
});

describe('SDI-12 receive path in noise', () => {
  it('a CRC-checked data reply after a noise line is recovered exactly', () => {
    fc.assert(
      fc.property(arbNoise, fc.array(arbValue.map((v) => Math.abs(v)), { minLength: 1, maxLength: 4 }), fc.gen(), (noise, values, gen) => {
        const body = `1${values.map((v) => `+${v}`).join('')}`;
        const stream = Buffer.concat([noise, Buffer.from(`\r\n${body}${sdi12CrcChars(crc16arc(body))}\r\n`, 'latin1')]);
        const framer = createSdi12Framer();
        const lines = splitAt(stream, gen(arbCuts, stream.length)).flatMap((c) => framer.push(c)).flatMap((f) => (f.oversize ? [] : [f.line]));
        expect(parseSdi12Response(lines.at(-1) ?? '', 'data', { crc: true, address: '1' })).toEqual({ ok: true, kind: 'data', address: '1', values });
      }),
    );
  });

  it('random bytes never throw and the framer stays within its bound', () => {
    fc.assert(
      fc.property(arbChunkedBytes(800), (chunks) => {
        const framer = createSdi12Framer();
        for (const c of chunks) {
          for (const f of framer.push(c)) if (!f.oversize) parseSdi12Response(f.line, 'data', { crc: true });
          expect(framer.bufferedBytes()).toBeLessThanOrEqual(SDI12_MAX_LINE_BYTES + 2);
        }
      }),
    );
  });

  it('the session always names a next step and ends after a bounded number of replies', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(null), fc.string({ unit: 'binary-ascii', maxLength: 40 })), { maxLength: 200 }), fc.boolean(), (replies, crc) => {
        const session = new Sdi12Session({ address: '0', crc, identify: true });
        let steps = 0;
        for (const reply of replies) {
          const step = reply === null ? session.onTimeout() : session.onLine(reply);
          expect(['send', 'wait', 'done', 'failed']).toContain(step.kind);
          if (step.kind === 'done' || step.kind === 'failed') break;
          steps++;
        }
        // 3 tries per command, at most address + identify + measure + wait + 10 data commands.
        expect(steps).toBeLessThanOrEqual(200);
      }),
    );
  });
});
