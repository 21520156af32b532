import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineFramer } from '../../src/drivers/serial/framer.js';
import { LineDecoder, lineDeviceOptionsSchema, parseDecimal, type LineEvent } from '../../src/drivers/serial/line/index.js';
import { arbChunkedBytes, arbCuts, feed, latin1, plain, splitAt } from './helpers.js';

const utf8 = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const readings = (events: LineEvent[]): Record<string, number>[] =>
  events.flatMap((e) => (e.type === 'reading' ? [{ ...e.values }] : []));

describe('LineFramer', () => {
  it('keeps a line of exactly maxLineBytes and drops a longer one up to its delimiter', () => {
    const framer = new LineFramer({ delimiter: '\r\n', maxLineBytes: 4 });
    expect(framer.push(latin1('abcd\r\nabcdefg\r\nok\r\n'))).toEqual([{ line: 'abcd' }, { oversize: true, droppedBytes: 7 }, { line: 'ok' }]);
    expect(framer.oversizeLines()).toBe(1);
  });

  it('finds a delimiter split across chunks, even while dropping', () => {
    const framer = new LineFramer({ delimiter: '\r\n', maxLineBytes: 3 });
    expect([...framer.push(latin1('abcdef\r')), ...framer.push(latin1('\nxy\r')), ...framer.push(latin1('\n'))]).toEqual([
      { oversize: true, droppedBytes: 6 },
      { line: 'xy' },
    ]);
  });

  it('rejects unusable options', () => {
    expect(() => new LineFramer({ delimiter: '', maxLineBytes: 4 })).toThrow(/delimiter/);
    expect(() => new LineFramer({ delimiter: '\n', maxLineBytes: 0 })).toThrow(/maxLineBytes/);
  });

  it('splits like String.split for any text and chunking, within the bound', () => {
    // Lines never contain \n or |, so no delimiter can form inside one; a lone \r can.
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z;=\r]{0,12}$/), { maxLength: 10 }),
        fc.constantFrom('\n', '\r\n', '||'),
        fc.gen(),
        (lines, delimiter, gen) => {
          const stream = latin1(lines.map((l) => l + delimiter).join(''));
          const framer = new LineFramer({ delimiter, maxLineBytes: 8 });
          const out = feed(framer, splitAt(stream, gen(arbCuts, stream.length)));
          expect(out).toEqual(lines.map((l) => (l.length <= 8 ? { line: l } : { oversize: true, droppedBytes: l.length })));
          expect(framer.bufferedBytes()).toBe(0);
        },
      ),
    );
  });
});

describe('LineDecoder', () => {
  it('turns key=value pairs into numbers', () => {
    const events = new LineDecoder().push(latin1('T=21.4;H=40\r\nT=-3.5e1; H = 7 ;\n'));
    expect(readings(events)).toEqual([{ T: 21.4, H: 40 }, { T: -35, H: 7 }]);
  });

  it('uses named groups of a configured pattern', () => {
    const decoder = new LineDecoder({ pattern: String.raw`^temp (?<t>[-\d.]+)C hum (?<h>[\d.]+)%$` });
    const events = decoder.push(utf8('temp 21.5C hum 40%\nsomething else\n'));
    expect(readings(events)).toEqual([{ t: 21.5, h: 40 }]);
    expect(events[1]).toMatchObject({ type: 'line-error', code: 'E_LINE_NOMATCH' });
    expect(decoder.stats()).toMatchObject({ lines: 2, readings: 1, noMatch: 1 });
  });

  it('reports each non-numeric field and keeps the others', () => {
    const events = new LineDecoder().push(latin1('T=21,4;H=40;P=;X\n'));
    expect(readings(events)).toEqual([{ H: 40 }]);
    expect(events.filter((e) => e.type === 'field-error').map((e) => e.type === 'field-error' && [e.code, e.field])).toEqual([
      ['E_LINE_VALUE', 'T'],
      ['E_LINE_VALUE', 'P'],
      ['E_LINE_PAIR', 'X'],
    ]);
  });

  it('keeps only configured fields, scaled', () => {
    const decoder = new LineDecoder({ fields: { T: { scale: 0.1 } }, pairSeparator: ',', kvSeparator: ':' });
    expect(readings(decoder.push(latin1('T:214,H:40,junk:x\n')))).toEqual([{ T: 21.400000000000002 }]);
  });

  it('treats a "__proto__" key as a plain field', () => {
    const [event] = new LineDecoder().push(latin1('__proto__=1\n'));
    expect(event?.type === 'reading' && Object.keys(event.values)).toEqual(['__proto__']);
  });

  it('drops long lines and counts them', () => {
    const decoder = new LineDecoder({ maxLineBytes: 16 });
    const events = decoder.push(latin1(`T=${'1'.repeat(40)}\nT=1\n`));
    expect(events.map((e) => e.type)).toEqual(['line-error', 'reading']);
    expect(decoder.stats().oversize).toBe(1);
  });

  it('refuses an invalid pattern at construction', () => {
    expect(() => new LineDecoder({ pattern: '(' })).toThrow(/not a valid regular expression/);
    expect(() => new LineDecoder({ pattern: /T=(\d+)/ })).toThrow(/named group/);
  });

  it('parseDecimal accepts decimal numbers only', () => {
    expect([' 1', '-2.5', '+.5', '3.', '1e3'].map(parseDecimal)).toEqual([1, -2.5, 0.5, 3, 1000]);
    for (const bad of ['', ' ', '0x10', 'Infinity', 'NaN', '1,5', '1.2.3', '--1']) expect(parseDecimal(bad), bad).toBeNull();
  });

  it('random bytes never throw and the buffer stays bounded', () => {
    fc.assert(
      fc.property(arbChunkedBytes(600), fc.integer({ min: 8, max: 64 }), fc.boolean(), (chunks, maxLineBytes, withPattern) => {
        const decoder = new LineDecoder({ maxLineBytes, ...(withPattern ? { pattern: '(?<a>\\d+)' } : {}) });
        for (const chunk of chunks) {
          decoder.push(chunk);
          expect(decoder.bufferedBytes()).toBeLessThanOrEqual(maxLineBytes + 1);
        }
      }),
    );
  });

  it('generated readings round-trip, however the stream is chunked', () => {
    const arbReading = fc.dictionary(fc.stringMatching(/^[A-Za-z_]\w{0,7}$/), fc.double({ noNaN: true, noDefaultInfinity: true }), { minKeys: 1, maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(arbReading, { minLength: 1, maxLength: 5 }), fc.gen(), (rows, gen) => {
        const text = rows.map((r) => `${Object.entries(r).map(([k, v]) => `${k}=${v}`).join(';')}\r\n`).join('');
        const stream = latin1(text);
        const events = feed(new LineDecoder({ maxLineBytes: 1024 }), splitAt(stream, gen(arbCuts, stream.length)));
        expect(plain(readings(events))).toEqual(plain(rows.map((r) => ({ ...r }))));
      }),
    );
  });
});

describe('lineDeviceOptionsSchema', () => {
  it('fills defaults', () => {
    expect(lineDeviceOptionsSchema.parse({})).toEqual({ delimiter: '\n', pairSeparator: ';', kvSeparator: '=', maxLineBytes: 256 });
  });

  it('explains an invalid regex, a pattern without groups and a field missing from the pattern', () => {
    const messages = (input: unknown): string[] => lineDeviceOptionsSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(messages({ pattern: 'T=(\\d+' })).toEqual([expect.stringMatching(/^pattern: pattern is not a valid regular expression/)]);
    expect(messages({ pattern: 'T=(\\d+)' })).toEqual([expect.stringMatching(/^pattern: pattern has no named group/)]);
    expect(messages({ pattern: 'T=(?<T>\\d+)', fields: { T: { class: 'comfort', unit: 'Cel' }, H: { class: 'comfort' } } })).toEqual([
      'fields.H: field "H" has no (?<H>...) group in pattern',
    ]);
    expect(messages({ pairSeparator: '=', kvSeparator: '=' })).toEqual(['kvSeparator: kvSeparator must differ from pairSeparator']);
    expect(messages({ fields: { T: { class: 'comfort', unit: 'degC' } } })[0]).toMatch(/^fields\.T\.unit/);
    expect(messages({ delimter: '\n' })).toHaveLength(1);
  });

  it('its output configures a LineDecoder', () => {
    const opts = lineDeviceOptionsSchema.parse({ pattern: '^T=(?<T>[-0-9.]+)$', fields: { T: { class: 'comfort', unit: 'Cel', scale: 2 } } });
    expect(readings(new LineDecoder(opts).push(latin1('T=10\n')))).toEqual([{ T: 20 }]);
  });
});
