import { describe, expect, it } from 'vitest';
import {
  crc16arc,
  createSdi12Framer,
  parseSdi12Response,
  sdi12Acknowledge,
  sdi12AddressQuery,
  sdi12ChangeAddress,
  sdi12Continuous,
  sdi12CrcChars,
  sdi12Data,
  sdi12Identify,
  sdi12Measure,
  sdi12ReplyTimeoutMs,
  SDI12_MAX_LINE_BYTES,
} from '../../src/drivers/serial/sdi12/index.js';
import { latin1 } from './helpers.js';

describe('SDI-12 CRC', () => {
  it('CRC-16/ARC check value of "123456789" is 0xBB3D', () => {
    expect(crc16arc('123456789')).toBe(0xbb3d);
    expect(crc16arc(latin1('123456789'))).toBe(0xbb3d);
  });

  it('encodes the CRC as three chars of 4, 6 and 6 bits with 0x40 set', () => {
    // 0xBB3D = 1011 101100 111101
    expect(sdi12CrcChars(0xbb3d)).toBe(String.fromCharCode(0x40 | 0xb, 0x40 | 0x2c, 0x40 | 0x3d));
    // The example reply of the SDI-12 v1.4 specification, 0D0! -> 0+3.14OqZ (recomputed here).
    expect(sdi12CrcChars(crc16arc('0+3.14'))).toBe('OqZ');
  });
});

describe('SDI-12 commands', () => {
  it('builds the commands of hardware.md section 7', () => {
    expect(sdi12AddressQuery()).toBe('?!');
    expect(sdi12Acknowledge('0')).toBe('0!');
    expect(sdi12ChangeAddress('0', '3')).toBe('0A3!');
    expect(sdi12Identify('5')).toBe('5I!');
    expect(sdi12Measure('0')).toBe('0M!');
    expect(sdi12Measure('0', { crc: true })).toBe('0MC!');
    expect(sdi12Measure('0', { index: 2 })).toBe('0M2!');
    expect(sdi12Measure('a', { concurrent: true, crc: true, index: 9 })).toBe('aCC9!');
    expect(sdi12Data('0', 0)).toBe('0D0!');
    expect(sdi12Data('Z', 9)).toBe('ZD9!');
    expect(sdi12Continuous('0', 0, { crc: true })).toBe('0RC0!');
  });

  it('rejects bad addresses and indexes', () => {
    expect(() => sdi12Identify('?')).toThrow(/SDI-12 address/);
    expect(() => sdi12Identify('10')).toThrow(/SDI-12 address/);
    expect(() => sdi12Data('0', 10)).toThrow(/data index/);
    expect(() => sdi12Measure('0', { index: 1.5 })).toThrow(/measurement index/);
  });

  it('allows for a whole exchange at 1200 baud in the reply timeout', () => {
    // 4 command chars + 83 reply chars at 8.33 ms each alone take 725 ms.
    expect(sdi12ReplyTimeoutMs('0D0!', 'data')).toBeGreaterThan(725);
    expect(sdi12ReplyTimeoutMs('0!', 'ack')).toBeLessThan(200);
  });
});

describe('parseSdi12Response', () => {
  it('acknowledge and address query replies', () => {
    expect(parseSdi12Response('0', 'ack')).toEqual({ ok: true, kind: 'ack', address: '0' });
    expect(parseSdi12Response('7\r\n', 'ack')).toEqual({ ok: true, kind: 'ack', address: '7' });
    expect(parseSdi12Response('', 'ack')).toMatchObject({ ok: false, code: 'E_SDI12_EMPTY' });
    expect(parseSdi12Response('07', 'ack')).toMatchObject({ ok: false, code: 'E_SDI12_FORMAT' });
    expect(parseSdi12Response('!', 'ack')).toMatchObject({ ok: false, code: 'E_SDI12_ADDRESS' });
    expect(parseSdi12Response('1', 'ack', { address: '0' })).toMatchObject({ ok: false, code: 'E_SDI12_ADDRESS' });
  });

  it('identification by position, padding trimmed', () => {
    const line = `0${'14'}${'METER   '}${'TER12 '}${'104'}${'SN-00042'}`;
    expect(parseSdi12Response(line, 'identify')).toEqual({
      ok: true, kind: 'identify', address: '0', sdiVersion: '1.4', vendor: 'METER', model: 'TER12', version: '104', serial: 'SN-00042',
    });
    expect(parseSdi12Response(line.slice(0, 20), 'identify')).toMatchObject({ ok: true, serial: '' });
    expect(parseSdi12Response(line.slice(0, 19), 'identify')).toMatchObject({ ok: false, code: 'E_SDI12_FORMAT' });
    expect(parseSdi12Response(`0x4${line.slice(3)}`, 'identify')).toMatchObject({ ok: false, code: 'E_SDI12_FORMAT' });
  });

  it('measurement replies atttn and atttnn', () => {
    expect(parseSdi12Response('00052', 'measure')).toEqual({ ok: true, kind: 'measure', address: '0', seconds: 5, count: 2 });
    expect(parseSdi12Response('312012', 'measure')).toMatchObject({ seconds: 120, count: 12 });
    expect(parseSdi12Response('0005', 'measure')).toMatchObject({ ok: false, code: 'E_SDI12_FORMAT' });
    expect(parseSdi12Response('0005x', 'measure')).toMatchObject({ ok: false, code: 'E_SDI12_FORMAT' });
  });

  it('data values with signs', () => {
    expect(parseSdi12Response('5+0.00180+26.15', 'data')).toEqual({ ok: true, kind: 'data', address: '5', values: [0.0018, 26.15] });
    expect(parseSdi12Response('0+1.23-4.5+6', 'data')).toMatchObject({ values: [1.23, -4.5, 6] });
    expect(parseSdi12Response('0', 'data')).toMatchObject({ ok: true, values: [] });
    for (const bad of ['01.5', '0+1.2.3', '0+', '0+1 ', '0+-1']) {
      expect(parseSdi12Response(bad, 'data'), bad).toMatchObject({ ok: false, code: 'E_SDI12_FORMAT' });
    }
  });

  it('data with CRC: verified, then stripped', () => {
    expect(parseSdi12Response('0+3.14OqZ\r\n', 'data', { crc: true })).toMatchObject({ ok: true, values: [3.14] });
    expect(parseSdi12Response('0+3.15OqZ', 'data', { crc: true })).toMatchObject({ ok: false, code: 'E_SDI12_CRC' });
    expect(parseSdi12Response('0+3.14', 'data', { crc: true })).toMatchObject({ ok: false, code: 'E_SDI12_CRC' });
    expect(parseSdi12Response('0Oq', 'data', { crc: true })).toMatchObject({ ok: false, code: 'E_SDI12_CRC' });
  });

  it('reports non-printable bytes, as from a port in the wrong mode', () => {
    expect(parseSdi12Response('0\u00c1+1', 'data')).toMatchObject({ ok: false, code: 'E_SDI12_FORMAT', message: expect.stringContaining('7E1') });
  });
});

describe('SDI-12 line framer', () => {
  it('splits CR LF lines across chunks and drops lines over the bound', () => {
    const framer = createSdi12Framer();
    expect(framer.push(latin1('0+1.5\r'))).toEqual([]);
    expect(framer.push(latin1('\n0'))).toEqual([{ line: '0+1.5' }]);
    const long = `0${'+1'.repeat(SDI12_MAX_LINE_BYTES)}\r\n0\r\n`;
    expect(framer.push(latin1(long))).toEqual([{ oversize: true, droppedBytes: 2 * SDI12_MAX_LINE_BYTES + 2 }, { line: '0' }]);
    expect(framer.bufferedBytes()).toBe(0);
  });
});
