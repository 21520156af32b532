import { describe, expect, it } from 'vitest';
import { decodeLineCapture } from '../../src/drivers/serial/line/index.js';
import { crc16arc, decodeSdi12Capture, sdi12CrcChars } from '../../src/drivers/serial/sdi12/index.js';
import { decodeTicCapture, encodeTicFrame } from '../../src/drivers/serial/tic/index.js';
import { latin1 } from './helpers.js';

describe('decodeTicCapture', () => {
  const capture = Buffer.concat([
    latin1('ETX-tail\x03'),
    encodeTicFrame([{ label: 'ADSC', value: '012345678910' }, { label: 'EAST', value: '003519702' }, { label: 'SMAXSN', value: '00986', horodate: 'e240210110331' }, { label: 'NGTF', value: '  TEMPO  ' }], 'standard'),
    latin1('\x02\nEAST\t003519702\t0\r\nADSC\t012345678911\t;\r\x03\x02\nBASE 1'),
  ]);

  it('one record per group, numbers for numeric labels, identifiers hidden by default', () => {
    const records = decodeTicCapture(capture);
    expect(records.slice(0, 4)).toEqual([
      { protocol: 'tic', ok: true, frame: 1, mode: 'standard', label: 'ADSC', value: '(hidden identifier)', dataClass: 'identifier' },
      { protocol: 'tic', ok: true, frame: 1, mode: 'standard', label: 'EAST', value: 3519702, unit: 'Wh', dataClass: 'energy' },
      {
        protocol: 'tic', ok: true, frame: 1, mode: 'standard', label: 'SMAXSN', value: 986, unit: 'VA', dataClass: 'energy',
        horodate: '2024-02-10T11:03:31+02:00', clockDegraded: true,
      },
      { protocol: 'tic', ok: true, frame: 1, mode: 'standard', label: 'NGTF', value: '  TEMPO  ', dataClass: 'status' },
    ]);
    expect(records.slice(4)).toEqual([
      { protocol: 'tic', ok: false, frame: 2, raw: 'EAST\t003519702\t0', error: { code: 'E_TIC_CHECKSUM', message: expect.any(String) } },
      { protocol: 'tic', ok: false, frame: 2, raw: 'ADSC (hidden identifier)', error: { code: 'E_TIC_CHECKSUM', message: expect.any(String) } },
      { protocol: 'tic', ok: false, frame: 3, error: { code: 'E_TIC_INCOMPLETE', message: expect.stringContaining('no ETX') } },
    ]);
    expect(JSON.stringify(records)).not.toContain('01234567891');
  });

  it('shows identifiers when asked', () => {
    expect(decodeTicCapture(capture, { showIdentifiers: true })[0]).toMatchObject({ label: 'ADSC', value: '012345678910' });
  });
});

describe('decodeSdi12Capture', () => {
  const crcReply = (body: string): string => body + sdi12CrcChars(crc16arc(body));

  it('reads replies through the echoed commands', () => {
    const text = ['0!0', `0I!014METER   TER12 104SN1`, '0MC!00052', '0', `0D0!${crcReply('0+1.5-2')}`, '0M!00011', '0D0!0+7', '0D0!0+1.2.3'].join('\r\n') + '\r\n0+';
    const records = decodeSdi12Capture(latin1(text));
    expect(records).toEqual([
      { protocol: 'sdi12', ok: true, command: '0!', kind: 'ack', address: '0' },
      { protocol: 'sdi12', ok: true, command: '0I!', kind: 'identify', address: '0', sdiVersion: '1.4', vendor: 'METER', model: 'TER12', version: '104', serial: 'SN1' },
      { protocol: 'sdi12', ok: true, command: '0MC!', kind: 'measure', address: '0', seconds: 5, count: 2 },
      { protocol: 'sdi12', ok: true, kind: 'ack', address: '0' },
      { protocol: 'sdi12', ok: true, command: '0D0!', kind: 'data', address: '0', values: [1.5, -2] },
      { protocol: 'sdi12', ok: true, command: '0M!', kind: 'measure', address: '0', seconds: 1, count: 1 },
      { protocol: 'sdi12', ok: true, command: '0D0!', kind: 'data', address: '0', values: [7] },
      { protocol: 'sdi12', ok: false, command: '0D0!', raw: '0D0!0+1.2.3', error: { code: 'E_SDI12_FORMAT', message: expect.any(String) } },
      { protocol: 'sdi12', ok: false, error: { code: 'E_SDI12_INCOMPLETE', message: expect.any(String) } },
    ]);
  });

  it('guesses the kind of replies captured without echo', () => {
    const text = ['3', '300102', '314METER   TER12 104', '3+21.5+40'].join('\r\n') + '\r\n';
    expect(decodeSdi12Capture(latin1(text)).map((r) => r.kind)).toEqual(['ack', 'measure', 'identify', 'data']);
  });
});

describe('decodeLineCapture', () => {
  it('one record per reading or error; the last line needs no delimiter', () => {
    expect(decodeLineCapture(latin1('T=21.4;H=40\nT=x\nT=22'))).toEqual([
      { protocol: 'line', ok: true, values: { T: 21.4, H: 40 } },
      { protocol: 'line', ok: false, field: 'T', error: { code: 'E_LINE_VALUE', message: expect.stringContaining('"x"') } },
      { protocol: 'line', ok: true, values: { T: 22 } },
    ]);
  });
});
