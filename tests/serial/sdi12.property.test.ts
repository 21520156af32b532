import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc16arc, createSdi12Framer, parseSdi12Response, sdi12CrcChars, type Sdi12Expect } from '../../src/drivers/serial/sdi12/index.js';
import { arbChunkedBytes } from './helpers.js';

const arbAddress = fc.stringMatching(/^[0-9a-zA-Z]$/);
const arbExpect = fc.constantFrom<Sdi12Expect>('ack', 'identify', 'measure', 'data');
/** An SDI-12 value as a sensor prints it: sign, up to 7 digits, optional decimal point. */
const arbValueText = fc
  .record({ negative: fc.boolean(), digits: fc.stringMatching(/^\d{1,7}$/), point: fc.nat() })
  .map(({ negative, digits, point }) => {
    const at = point % (digits.length + 1);
    const text = at === digits.length ? digits : `${digits.slice(0, at)}.${digits.slice(at)}`;
    return `${negative ? '-' : '+'}${text}`;
  });

describe('SDI-12 parser properties', () => {
  it('never throws, whatever the line and the expectation', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 90 }), arbExpect, fc.boolean(), (line, expect_, crc) => {
        const result = parseSdi12Response(line, expect_, { crc });
        expect(typeof result.ok).toBe('boolean');
      }),
    );
  });

  it('data replies round-trip through a generator, with and without CRC', () => {
    fc.assert(
      fc.property(arbAddress, fc.array(arbValueText, { maxLength: 9 }), fc.boolean(), (address, texts, crc) => {
        const body = address + texts.join('');
        const line = crc ? body + sdi12CrcChars(crc16arc(body)) : body;
        expect(parseSdi12Response(`${line}\r\n`, 'data', { crc, address })).toEqual({ ok: true, kind: 'data', address, values: texts.map(Number) });
      }),
    );
  });

  it('any corruption of one char of a CRC-protected reply is caught', () => {
    fc.assert(
      fc.property(arbAddress, fc.array(arbValueText, { minLength: 1, maxLength: 6 }), fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (address, texts, at, char) => {
        const body = address + texts.join('');
        const line = body + sdi12CrcChars(crc16arc(body));
        const i = at % line.length;
        fc.pre(line.charCodeAt(i) !== char);
        const corrupted = line.slice(0, i) + String.fromCharCode(char) + line.slice(i + 1);
        expect(parseSdi12Response(corrupted, 'data', { crc: true }).ok).toBe(false);
      }),
    );
  });

  it('measurement and identification replies round-trip', () => {
    fc.assert(
      fc.property(arbAddress, fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 99 }), (address, seconds, count) => {
        expect(parseSdi12Response(`${address}${String(seconds).padStart(3, '0')}${count}`, 'measure')).toEqual({ ok: true, kind: 'measure', address, seconds, count });
      }),
    );
    const field = (n: number): fc.Arbitrary<string> => fc.stringMatching(new RegExp(`^[A-Z0-9][A-Z0-9 ._-]{0,${n - 1}}$`)).map((s) => s.trimEnd());
    fc.assert(
      fc.property(arbAddress, fc.integer({ min: 10, max: 14 }), field(8), field(6), fc.stringMatching(/^\d{3}$/), field(13), (address, ll, vendor, model, version, serial) => {
        const line = `${address}${ll}${vendor.padEnd(8)}${model.padEnd(6)}${version}${serial}`;
        expect(parseSdi12Response(line, 'identify')).toEqual({
          ok: true, kind: 'identify', address, sdiVersion: `${String(ll)[0]}.${String(ll)[1]}`, vendor, model, version, serial: serial.trim(),
        });
      }),
    );
  });

  it('the line framer never throws and stays within its bound on random bytes', () => {
    fc.assert(
      fc.property(arbChunkedBytes(500), (chunks) => {
        const framer = createSdi12Framer();
        for (const chunk of chunks) {
          for (const framed of framer.push(chunk)) if (!framed.oversize) expect(framed.line.length).toBeLessThanOrEqual(96);
          expect(framer.bufferedBytes()).toBeLessThanOrEqual(98);
        }
      }),
    );
  });
});
