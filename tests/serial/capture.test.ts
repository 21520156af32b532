import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeLineCapture } from '../../src/drivers/serial/line/index.js';
import { crc16arc, decodeSdi12Capture, sdi12CrcChars } from '../../src/drivers/serial/sdi12/index.js';
import { MASKED_DIGIT_RUN } from '../../src/drivers/serial/tic/capture.js';
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
      { protocol: 'tic', ok: false, frame: 2, raw: 'EAST\t#########\t0', error: { code: 'E_TIC_CHECKSUM', message: expect.any(String) } },
      { protocol: 'tic', ok: false, frame: 2, raw: 'ADSC (hidden identifier)', error: { code: 'E_TIC_CHECKSUM', message: expect.any(String) } },
      { protocol: 'tic', ok: false, frame: 3, error: { code: 'E_TIC_INCOMPLETE', message: expect.stringContaining('no ETX') } },
    ]);
    expect(JSON.stringify(records)).not.toContain('01234567891');
  });

  it('shows identifiers when asked', () => {
    expect(decodeTicCapture(capture, { showIdentifiers: true })[0]).toMatchObject({ label: 'ADSC', value: '012345678910' });
    expect(decodeTicCapture(capture, { showIdentifiers: true })[4]).toMatchObject({ raw: 'EAST\t003519702\t0' });
  });

  // Issue 16, low: one bit of noise on the label (ADCO -> ADCN) printed the meter identifier in `raw`.
  it('masks the identifier when noise hits its label', () => {
    const frame = Buffer.from(encodeTicFrame([{ label: 'ADCO', value: '041876543210' }], 'historique'));
    frame[5] = 0x4e; // STX, LF, A, D, C, O: ADCO -> ADCN (O is 0x4f: one bit)
    const records = decodeTicCapture(frame);
    expect(records[0]).toMatchObject({ ok: false, raw: 'ADCN ############ ' + String.fromCharCode(frame[frame.length - 3]!) });
    expect(JSON.stringify(records)).not.toContain('87654');
  });

  it('never prints 5 consecutive digits of an identifier, whatever one byte of noise hits', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{12}$/),
        fc.constantFrom(['ADCO', 'historique'] as const, ['ADSC', 'standard'] as const, ['PRM', 'standard'] as const),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        (id, [label, mode], at, byte) => {
          const value = label === 'PRM' ? `${id}34` : id;
          const frame = Buffer.from(encodeTicFrame([{ label, value }], mode));
          frame[at % frame.length] = byte;
          const out = JSON.stringify(decodeTicCapture(frame));
          for (let i = 0; i + MASKED_DIGIT_RUN <= value.length; i++) expect(out).not.toContain(value.slice(i, i + MASKED_DIGIT_RUN));
        },
      ),
      { numRuns: 2000 },
    );
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
