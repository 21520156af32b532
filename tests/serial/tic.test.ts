import { describe, expect, it } from 'vitest';
import {
  checksumTic,
  encodeTicFrame,
  encodeTicGroup,
  parseTicHorodate,
  TIC_LABELS,
  ticNumericValue,
  TicDecoder,
  type TicEvent,
  type TicFrameEvent,
} from '../../src/drivers/serial/tic/index.js';
import { SENML_UNITS } from '../../src/profiles/schema.js';
import { feed, latin1, plain, splitAt } from './helpers.js';

// hardware.md section 1, verified vectors.
const HISTORIQUE_FRAME =
  '\x02\nADCO 012345678910 E\r\nOPTARIF BASE 0\r\nISOUSC 30 9\r\nPAPP 02390 /\r\nBASE 123456789 8\r\nIINST 011 Y\r\nIMAX 090 H\r\nMOTDETAT 000000 B\r\x03';
const HISTORIQUE_LINES = ['HCHC 052890470 )', 'HCHP 049126843 8', 'PAPP 01890 3', 'PTEC HP..  '];
const STANDARD_LINES = ['ADSC\t012345678910\t;', 'EAST\t003519702\t*', 'SINSTS\t00263\tQ', 'IRMS1\t001\t/', 'URMS1\t242\tB'];
const STANDARD_HORODATED = ['SMAXSN\tH240210110331\t00986\t6', 'UMOY1\tH240210121000\t241\t"', 'DATE\tH240210121355\t\t;'];
const MUST_FAIL = ['EAST\t003519702\t0', 'BASE 123456789 0'];

const frameOf = (lines: readonly string[]): Uint8Array => latin1(`\x02${lines.map((l) => `\n${l}\r`).join('')}\x03`);
const decodeAll = (bytes: Uint8Array, maxFrameBytes?: number): TicEvent[] => new TicDecoder({ maxFrameBytes }).push(bytes);
const framesOf = (events: TicEvent[]): TicFrameEvent[] => events.filter((e): e is TicFrameEvent => e.type === 'frame');
const pairs = (frame: TicFrameEvent | undefined): string[][] => (frame?.groups ?? []).map((g) => [g.label, g.value]);

describe('TIC checksum (verified vectors)', () => {
  it('historique does not sum the space before the checksum; standard sums the tab', () => {
    expect(String.fromCharCode(checksumTic('HCHC 052890470 ', 'historique'))).toBe(')');
    expect(String.fromCharCode(checksumTic('EAST\t003519702\t', 'standard'))).toBe('*');
    expect(String.fromCharCode(checksumTic('PTEC HP.. ', 'historique'))).toBe(' ');
    expect(String.fromCharCode(checksumTic('SMAXSN\tH240210110331\t00986\t', 'standard'))).toBe('6');
  });

  it('the encoder reproduces the reference groups byte for byte', () => {
    expect(encodeTicGroup('BASE', '123456789', 'historique')).toBe('\nBASE 123456789 8\r');
    expect(encodeTicGroup('PTEC', 'HP..', 'historique')).toBe('\nPTEC HP..  \r');
    expect(encodeTicGroup('ADSC', '012345678910', 'standard')).toBe('\nADSC\t012345678910\t;\r');
    expect(encodeTicGroup('UMOY1', '241', 'standard', 'H240210121000')).toBe('\nUMOY1\tH240210121000\t241\t"\r');
    expect(encodeTicGroup('DATE', '', 'standard', 'H240210121355')).toBe('\nDATE\tH240210121355\t\t;\r');
    expect(Buffer.from(encodeTicFrame([{ label: 'ADCO', value: '012345678910' }], 'historique')).toString('latin1')).toBe('\x02\nADCO 012345678910 E\r\x03');
  });

  it('refuses to encode what the wire cannot carry', () => {
    expect(() => encodeTicGroup('MSG1', 'a\tb', 'standard')).toThrow(/printable/);
    expect(() => encodeTicGroup('BAD LABEL', '1', 'historique')).toThrow(/label/);
    expect(() => encodeTicGroup('BASE', '1', 'historique', 'H240210121355')).toThrow(/horodate/);
  });
});

describe('TicDecoder on the reference frames', () => {
  it('decodes the historique frame', () => {
    const frames = framesOf(decodeAll(latin1(HISTORIQUE_FRAME)));
    expect(frames).toHaveLength(1);
    expect(frames[0]?.mode).toBe('historique');
    expect(frames[0]?.droppedGroups).toBe(0);
    expect(pairs(frames[0])).toEqual([
      ['ADCO', '012345678910'], ['OPTARIF', 'BASE'], ['ISOUSC', '30'], ['PAPP', '02390'],
      ['BASE', '123456789'], ['IINST', '011'], ['IMAX', '090'], ['MOTDETAT', '000000'],
    ]);
  });

  it('accepts a space as checksum (parse by position, never trim)', () => {
    const frame = framesOf(decodeAll(frameOf(HISTORIQUE_LINES)))[0];
    expect(pairs(frame)).toEqual([['HCHC', '052890470'], ['HCHP', '049126843'], ['PAPP', '01890'], ['PTEC', 'HP..']]);
  });

  it('decodes standard groups, horodates and the empty DATE value', () => {
    const frame = framesOf(decodeAll(frameOf([...STANDARD_LINES, ...STANDARD_HORODATED])))[0];
    expect(frame?.mode).toBe('standard');
    expect(pairs(frame)).toEqual([
      ['ADSC', '012345678910'], ['EAST', '003519702'], ['SINSTS', '00263'], ['IRMS1', '001'], ['URMS1', '242'],
      ['SMAXSN', '00986'], ['UMOY1', '241'], ['DATE', ''],
    ]);
    const smax = frame?.groups.find((g) => g.label === 'SMAXSN');
    expect(smax?.horodate).toMatchObject({ iso: '2024-02-10T11:03:31+01:00', season: 'winter', degraded: false });
    expect(smax?.horodate?.ts).toBe(Date.parse('2024-02-10T10:03:31Z'));
  });

  it('drops a group with a bad checksum and keeps the rest of the frame', () => {
    for (const bad of MUST_FAIL) {
      const sep = bad.includes('\t') ? STANDARD_LINES : HISTORIQUE_LINES;
      const events = decodeAll(frameOf([sep[0] as string, bad, sep[1] as string]));
      const errors = events.filter((e) => e.type === 'group-error');
      expect(errors).toEqual([{ type: 'group-error', code: 'E_TIC_CHECKSUM', raw: bad, message: expect.stringContaining('checksum') }]);
      const frame = framesOf(events)[0];
      expect(frame?.droppedGroups).toBe(1);
      expect(frame?.groups).toHaveLength(2);
    }
  });

  it('splits standard values on tabs only: values may hold spaces', () => {
    const group = encodeTicGroup('NGTF', '     TEMPO      ', 'standard');
    const frame = framesOf(decodeAll(latin1(`\x02${group}\x03`)))[0];
    expect(frame?.groups[0]?.value).toBe('     TEMPO      ');
  });
});

describe('TicDecoder streaming', () => {
  const sample = latin1(`noise${HISTORIQUE_FRAME}\r\n${Buffer.from(frameOf([...STANDARD_LINES, ...STANDARD_HORODATED, MUST_FAIL[0] as string])).toString('latin1')}xx`);

  it('gives the same events whatever byte the stream is split at', () => {
    const whole = plain(decodeAll(sample));
    for (let cut = 0; cut <= sample.length; cut++) {
      expect(plain(feed(new TicDecoder(), splitAt(sample, [cut])))).toEqual(whole);
    }
    const byteByByte = feed(new TicDecoder(), Array.from(sample, (b) => Uint8Array.of(b)));
    expect(plain(byteByByte)).toEqual(whole);
  });

  it('counts what it saw', () => {
    const decoder = new TicDecoder();
    decoder.push(sample);
    expect(decoder.stats()).toMatchObject({ bytes: sample.length, frames: 2, groups: 16, checksumErrors: 1, groupErrors: 0, noiseBytes: 9 });
    expect(decoder.bufferedBytes()).toBe(0);
  });

  it('an EOT aborts the frame; the next frame decodes', () => {
    const decoder = new TicDecoder();
    const events = decoder.push(latin1(`\x02\nBASE 123456789 8\r\nPAP\x04${HISTORIQUE_FRAME}`));
    expect(events.map((e) => e.type)).toEqual(['group', 'frame-error', ...Array(8).fill('group'), 'frame']);
    expect(events[1]).toMatchObject({ code: 'E_TIC_INTERRUPTED', groups: 1 });
    expect(decoder.stats().interrupted).toBe(1);
  });

  it('a new STX before ETX reports the cut frame and starts over', () => {
    const events = decodeAll(latin1(`\x02\nBASE 123456789 8\r\nPAP${HISTORIQUE_FRAME}`));
    expect(events.filter((e) => e.type === 'frame-error')).toEqual([expect.objectContaining({ code: 'E_TIC_TRUNCATED' })]);
    expect(framesOf(events)).toHaveLength(1);
  });

  it('drops a frame longer than maxFrameBytes, stays within the bound, and recovers', () => {
    const decoder = new TicDecoder({ maxFrameBytes: 64 });
    const long = frameOf(Array(10).fill('BASE 123456789 8'));
    let maxBuffered = 0;
    const events: TicEvent[] = [];
    for (const b of long) {
      events.push(...decoder.push(Uint8Array.of(b)));
      maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes());
    }
    expect(maxBuffered).toBeLessThanOrEqual(64);
    expect(events.filter((e) => e.type === 'frame-error')).toEqual([expect.objectContaining({ code: 'E_TIC_OVERSIZE' })]);
    expect(framesOf(events)).toHaveLength(0);
    expect(decoder.stats().oversize).toBe(1);
    expect(framesOf(decoder.push(frameOf(['BASE 123456789 8'])))).toHaveLength(1);
  });

  it('accepts a frame of exactly maxFrameBytes', () => {
    const frame = frameOf(['BASE 123456789 8']);
    expect(framesOf(decodeAll(frame, frame.length))).toHaveLength(1);
    expect(framesOf(decodeAll(frame, frame.length - 1))).toHaveLength(0);
  });

  it('explains bytes with bit 7 set (port opened 8N1 instead of 7E1)', () => {
    const parityBitSet = Uint8Array.from(latin1(HISTORIQUE_FRAME), (b) => (b === 0x45 ? b | 0x80 : b));
    const errors = decodeAll(parityBitSet).filter((e) => e.type === 'group-error');
    expect(errors[0]).toMatchObject({ code: 'E_TIC_GROUP', message: expect.stringContaining('7E1') });
  });

  it('rejects a group whose separator contradicts the frame mode', () => {
    const events = decodeAll(frameOf(['ADSC\t012345678910\t;', 'BASE 123456789 8']));
    expect(events.find((e) => e.type === 'group-error')).toMatchObject({ code: 'E_TIC_GROUP', message: expect.stringContaining('standard frame') });
  });

  it('reports a group left open at ETX and a group without checksum field', () => {
    const events = decodeAll(latin1('\x02\nBASE 123456789 8\r\nAB\r\nIINST 011 Y\x03'));
    expect(events.filter((e) => e.type === 'group-error').map((e) => e.type === 'group-error' && e.code)).toEqual(['E_TIC_GROUP', 'E_TIC_GROUP']);
    expect(framesOf(events)[0]?.droppedGroups).toBe(2);
  });

  it('refuses an unusable bound', () => {
    expect(() => new TicDecoder({ maxFrameBytes: 4 })).toThrow(/maxFrameBytes/);
  });
});

describe('TIC horodate', () => {
  it('E is summer (+02:00), H winter (+01:00), lowercase flags a degraded clock', () => {
    expect(parseTicHorodate('E240710121355')).toMatchObject({ iso: '2024-07-10T12:13:55+02:00', season: 'summer', degraded: false });
    expect(parseTicHorodate('h240210121355')).toMatchObject({ iso: '2024-02-10T12:13:55+01:00', season: 'winter', degraded: true });
    expect(parseTicHorodate('E240710121355')?.ts).toBe(Date.parse('2024-07-10T10:13:55Z'));
  });

  it('rejects impossible dates and other season letters', () => {
    for (const bad of ['H240230121355', 'H241310121355', 'H240210241355', 'H240210126055', 'X240210121355', 'H24021012135', ' 240210121355']) {
      expect(parseTicHorodate(bad)).toBeNull();
    }
  });

  it('a group with a bad horodate is a group error even with a good checksum', () => {
    const raw = 'SMAXSN\tH240230110331\t00986\t';
    const line = raw + String.fromCharCode(checksumTic(raw, 'standard'));
    expect(decodeAll(frameOf([line]))[0]).toMatchObject({ type: 'group-error', code: 'E_TIC_GROUP', message: expect.stringContaining('horodate') });
  });
});

describe('TIC label table', () => {
  it('index labels are Wh energy counters; identifiers never numeric', () => {
    for (const label of ['BASE', 'HCHC', 'HCHP', 'EJPHN', 'EJPHPM', 'BBRHCJB', 'BBRHPJR', 'EAST', 'EASF01', 'EASF10', 'EASD04', 'EAIT']) {
      expect(TIC_LABELS[label], label).toMatchObject({ unit: 'Wh', measure: 'counter', dataClass: 'energy', numeric: true });
    }
    for (const label of ['ADCO', 'ADSC', 'PRM']) expect(TIC_LABELS[label]).toMatchObject({ dataClass: 'identifier', numeric: false });
    for (const label of ['OPTARIF', 'PTEC', 'NGTF', 'LTARF', 'STGE']) expect(TIC_LABELS[label]?.numeric).toBe(false);
    expect(TIC_LABELS.PAPP).toMatchObject({ unit: 'VA', measure: 'gauge' });
    expect(TIC_LABELS.URMS2).toMatchObject({ unit: 'V' });
    expect(TIC_LABELS.SMAXSN).toMatchObject({ unit: 'VA', horodated: true });
  });

  it('every unit is a SenML unit', () => {
    for (const [label, info] of Object.entries(TIC_LABELS)) {
      if (info.unit !== undefined) expect(SENML_UNITS, label).toContain(info.unit);
    }
  });

  it('ticNumericValue keeps digits only and scales kVA to VA', () => {
    expect(ticNumericValue('BASE', '123456789')).toBe(123456789);
    expect(ticNumericValue('IINST', '011')).toBe(11);
    expect(ticNumericValue('PREF', '12')).toBe(12000);
    expect(ticNumericValue('PTEC', 'HP..')).toBeNull();
    expect(ticNumericValue('BASE', '12 45')).toBeNull();
    expect(ticNumericValue('ADCO', '012345678910')).toBeNull();
    expect(ticNumericValue('NOPE', '1')).toBeNull();
  });
});
