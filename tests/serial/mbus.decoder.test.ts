/**
 * The M-Bus decoder against real meters' frames and their expected decodings from libmbus
 * (github.com/rscada/libmbus, test/test-frames/*.hex and *.norm.xml, BSD licence, commit
 * f09d613bf98d0d10ed99240470bd4a2d3be9873f), copied unchanged into tests/fixtures/mbus/. Our units
 * differ where SenML wants it (m3/h becomes m3/s); everything else must match libmbus's reading.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeMbusCapture, encodeLong, MbusFrameReader, parseUserData, type MbusTelegram } from '../../src/drivers/serial/mbus/index.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'mbus');
const hexBytes = (text: string): Buffer => Buffer.from(text.replace(/[^0-9a-fA-F]/g, ''), 'hex');

function telegramOf(bytes: Uint8Array): MbusTelegram {
  const events = new MbusFrameReader().push(bytes);
  expect(events).toHaveLength(1);
  const e = events[0]!;
  if (e.type !== 'frame' || e.frame.kind !== 'long') throw new Error(`not a long frame: ${JSON.stringify(e)}`);
  const parsed = parseUserData(e.frame.ci, e.frame.data);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.telegram;
}

interface Expected {
  id: string;
  manufacturer: string;
  version: number;
  records: { fn: string; storage: number; tariff: number; device: number; unit: string; value: string }[];
}

/** The slave information and data records of a libmbus .norm.xml. */
function expectedOf(xml: string): Expected {
  const tag = (s: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(s)?.[1] ?? '';
  const records = [...xml.matchAll(/<DataRecord id="\d+">([\s\S]*?)<\/DataRecord>/g)].map(([, r]) => ({
    fn: tag(r!, 'Function'),
    storage: Number(tag(r!, 'StorageNumber')),
    tariff: Number(tag(r!, 'Tariff') || 0),
    device: Number(tag(r!, 'Device') || 0),
    unit: tag(r!, 'Unit'),
    value: tag(r!, 'Value'),
  }));
  return { id: tag(xml, 'Id'), manufacturer: tag(xml, 'Manufacturer'), version: Number(tag(xml, 'Version')), records };
}

const FUNCTIONS: Record<string, string> = { 'Instantaneous value': 'instantaneous', 'Maximum value': 'maximum', 'Minimum value': 'minimum', 'Value during error state': 'error' };
/** libmbus unit -> factor to ours. */
const UNIT_FACTOR: Record<string, number> = { Wh: 1, 'm^3': 1, W: 1, 'm^3/h': 1 / 3600, '\u00b0C': 1, K: 1, s: 1, V: 1, A: 1, '': 1, '-': 1 };

const FRAMES = [
  'kamstrup_multical_601',
  'itron_cyble_m-bus_v1.4_water',
  'ACW_Itron-CYBLE-M-Bus-14',
  'engelmann_sensostar2c',
  'EFE_Engelmann-Elster-SensoStar-2',
  'example_data_01',
  'EMU_EMU-Professional-375-M-Bus',
  'electricity-meter-1',
  'manual_frame7',
];

describe('M-Bus decoder on real meters (libmbus test frames)', () => {
  for (const name of FRAMES) {
    it(`${name}: header and every record match libmbus`, () => {
      const t = telegramOf(hexBytes(readFileSync(join(dir, `${name}.hex`), 'utf8')));
      const want = expectedOf(readFileSync(join(dir, `${name}.norm.xml`), 'utf8'));
      expect(t.problem).toBeUndefined();
      expect(Number(t.header!.id)).toBe(Number(want.id));
      expect(t.header!.manufacturer).toBe(want.manufacturer);
      expect(t.header!.version).toBe(want.version);
      // libmbus lists the DIF 0Fh manufacturer block as a last record; we keep it apart.
      const wanted = want.records.filter((r) => r.fn !== 'Manufacturer specific');
      expect(t.records).toHaveLength(wanted.length);
      wanted.forEach((w, i) => {
        const r = t.records[i]!;
        const where = `${name} record ${i}`;
        expect(r.function, where).toBe(FUNCTIONS[w.fn]);
        expect([r.storage, r.tariff, r.subunit], where).toEqual([w.storage, w.tariff, w.device]);
        if (/^\d{4}-\d\d-\d\d/.test(w.value)) {
          expect(String(r.value), where).toBe(w.value.replace(/:00Z$/, ''));
        } else if (r.quantity === 'plain_text' && typeof r.value === 'string') {
          expect(r.value, where).toBe(w.value);
        } else if (r.quantity !== 'manufacturer_specific') {
          const factor = UNIT_FACTOR[w.unit];
          expect(factor, `${where}: unit ${w.unit}`).toBeDefined();
          expect(r.value as number, where).toBeCloseTo(Number(w.value) * factor!, 6);
        }
      });
      if (want.records.some((r) => r.fn === 'Manufacturer specific')) expect(t.manufacturerData).toBeDefined();
    });
  }

  it('Kamstrup Multical 601: units, quantities, subunits and dates', () => {
    const t = telegramOf(hexBytes(readFileSync(join(dir, 'kamstrup_multical_601.hex'), 'utf8')));
    expect(t.header).toMatchObject({ id: '06855817', manufacturer: 'KAM', medium: 4, mediumName: 'Heat (outlet)', accessNumber: 4 });
    const pick = (i: number) => {
      const r = t.records[i]!;
      return [r.quantity, r.value, r.unit, r.function, r.storage, r.tariff, r.subunit];
    };
    expect(pick(1)).toEqual(['energy', 37_351_000, 'Wh', 'instantaneous', 0, 0, 0]);
    expect(pick(2)).toEqual(['volume', 561.08, 'm3', 'instantaneous', 0, 0, 0]);
    expect(pick(4)).toEqual(['flow_temperature', 101.69, 'Cel', 'instantaneous', 0, 0, 0]);
    expect(pick(6)).toEqual(['temperature_difference', 55.53, 'K', 'instantaneous', 0, 0, 0]);
    expect(pick(8)).toEqual(['power', 44_800, 'W', 'maximum', 0, 0, 0]);
    expect(t.records[9]!.value).toBeCloseTo(0.543 / 3600, 12);
    expect(pick(15)).toEqual(['energy', 0, 'Wh', 'instantaneous', 0, 0, 3]);
    expect(pick(16)).toEqual(['date_time', '2011-01-05T15:26', undefined, 'instantaneous', 0, 0, 0]);
    expect(pick(26)).toEqual(['date', '2010-12-31', undefined, 'instantaneous', 1, 0, 0]);
  });

  it('Itron Cyble: plain-text VIF, variable-length text, manufacturer VIFE and status bits', () => {
    const t = telegramOf(hexBytes(readFileSync(join(dir, 'itron_cyble_m-bus_v1.4_water.hex'), 'utf8')));
    expect(t.header).toMatchObject({ id: '12000071', manufacturer: 'ACW', mediumName: 'Water', status: 0x30 });
    expect(t.records[1]).toMatchObject({ quantity: 'plain_text', plainText: 'cust. ID', value: 'TEST CYBLE' });
    expect(t.records[3]).toMatchObject({ quantity: 'plain_text', plainText: 'bat. time', value: 4338 });
    expect(t.records[5]).toMatchObject({ quantity: 'volume', value: 0.2, modifiers: ['manufacturer-specific extension'] });
    expect(t.manufacturerData).toBe('10 01 1F');
    expect(t.moreFollows).toBe(false);
  });

  it('Engelmann SensoStar 2C: extension table FB (MWh) and storage numbers in DIFEs', () => {
    const t = telegramOf(hexBytes(readFileSync(join(dir, 'engelmann_sensostar2c.hex'), 'utf8')));
    expect(t.records[3]).toMatchObject({ quantity: 'energy', value: 800_000, unit: 'Wh', vif: [0xfb, 0x00] });
    expect(t.records[12]).toMatchObject({ quantity: 'error_flags', value: 0 });
    expect(t.records[21]).toMatchObject({ quantity: 'energy', value: 500_000, storage: 2 });
  });

  it('the RSP_UD example of the M-Bus documentation (m-bus.com, section 6.6)', () => {
    // 68 1F 1F 68 | 08 02 72 | id 12345678, PAD, version 1, water, access 55h | volume 12.565 m3 |
    // maximum volume flow 113 l/h in storage 5 | energy 218.37 kWh, tariff 2, subunit 1.
    const t = telegramOf(hexBytes('68 1F 1F 68 08 02 72 78 56 34 12 24 40 01 07 55 00 00 00 03 13 15 31 00 DA 02 3B 13 01 8B 60 04 37 18 02 18 16'));
    expect(t.header).toMatchObject({ id: '12345678', manufacturer: 'PAD', version: 1, medium: 7, accessNumber: 0x55 });
    expect(t.records[0]).toMatchObject({ quantity: 'volume', value: 12.565, unit: 'm3' });
    expect(t.records[1]).toMatchObject({ quantity: 'volume_flow', function: 'maximum', storage: 5 });
    expect(t.records[1]!.value).toBeCloseTo(0.113 / 3600, 12);
    expect(t.records[2]).toMatchObject({ quantity: 'energy', value: 218_370, unit: 'Wh', tariff: 2, subunit: 1 });
  });
});

describe('M-Bus decoder: data types and special DIFs', () => {
  const header = [0x78, 0x56, 0x34, 0x12, 0x2d, 0x2c, 0x01, 0x04, 0x01, 0x00, 0x00, 0x00];
  const decode = (records: number[]) => {
    const r = parseUserData(0x72, Uint8Array.from([...header, ...records]));
    if (!r.ok) throw new Error(r.message);
    return r.telegram;
  };

  it('integers 8-64 bits are signed, BCD 2-12 digits with F as minus sign, real32', () => {
    const t = decode([
      0x01, 0x2b, 0xff, // int8 -1 W
      0x07, 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, // int64 max, Wh
      0x0e, 0x03, 0x56, 0x34, 0x12, 0x90, 0x78, 0x56, // BCD12 567890123456 Wh
      0x0a, 0x5a, 0x34, 0xf2, // BCD4 -234 -> -23.4 Cel
      0x05, 0x5b, 0x00, 0x00, 0x20, 0x41, // real32 10 Cel
      0x0a, 0x5a, 0xaa, 0xaa, // BCD with A digits: not available
    ]);
    expect(t.records.map((r) => r.value)).toEqual([-1, 2 ** 63, 567_890_123_456, -23.4, 10, null]);
    expect(t.records[5]!.invalid).toMatch(/BCD digit/);
  });

  it('DIF 1Fh says more records follow; 2Fh fillers are skipped; an error VIFE is kept', () => {
    const t = decode([0x2f, 0x2f, 0x01, 0xab, 0x15, 0x05, 0x1f, 0xaa]);
    expect(t.records).toHaveLength(1);
    expect(t.records[0]).toMatchObject({ quantity: 'power', value: 5, errorCode: 0x15 });
    expect(t.moreFollows).toBe(true);
    expect(t.manufacturerData).toBe('AA');
  });

  it('a record cut short ends the telegram with a problem and keeps the records before it', () => {
    const t = decode([0x04, 0x13, 0x01, 0x00, 0x00, 0x00, 0x04, 0x13, 0x01]);
    expect(t.records).toHaveLength(1);
    expect(t.problem).toMatchObject({ code: 'E_MBUS_TRUNCATED', at: 18 });
  });

  it('refuses CIs that are no variable-data response, and encrypted bodies', () => {
    expect(parseUserData(0x73, Uint8Array.from(header))).toMatchObject({ ok: false, code: 'E_MBUS_CI' });
    const encrypted = [...header.slice(0, 10), 0x00, 0x05];
    expect(parseUserData(0x72, Uint8Array.from(encrypted))).toMatchObject({ ok: false, code: 'E_MBUS_ENCRYPTED' });
  });
});

describe('decodeMbusCapture', () => {
  const kamstrup = hexBytes(readFileSync(join(dir, 'kamstrup_multical_601.hex'), 'utf8'));

  it('one line per record, identifiers hidden unless asked; requests and E5 in a two-way capture are skipped', () => {
    const request = Buffer.from([0x10, 0x7b, 0x01, 0x7c, 0x16, 0xe5]);
    const lines = decodeMbusCapture(Buffer.concat([request, kamstrup]));
    expect(lines).toHaveLength(28);
    expect(lines[0]).toMatchObject({ protocol: 'mbus', ok: true, frame: 1, record: 0, quantity: 'fabrication_number', value: '(hidden identifier)', dataClass: 'identifier' });
    expect(lines[0]!.meter).toMatchObject({ id: '(hidden identifier)', manufacturer: 'KAM', medium: 'Heat (outlet)' });
    expect(lines[1]).toMatchObject({ ok: true, record: 1, value: 37_351_000, unit: 'Wh', function: 'instantaneous', storage: 0, tariff: 0, subunit: 0, description: 'Energy' });
    const shown = decodeMbusCapture(kamstrup, { showIdentifiers: true });
    expect(shown[0]).toMatchObject({ value: 6_855_817 });
    expect(shown[0]!.meter).toMatchObject({ id: '06855817' });
  });

  it('a bad checksum, a cut frame and a CI it cannot read are error lines, not exceptions', () => {
    const bad = Buffer.from(kamstrup);
    bad[bad.length - 2] = bad[bad.length - 2]! ^ 0xff;
    const other = encodeLong(0x08, 1, 0x73, [1, 2, 3]);
    const lines = decodeMbusCapture(Buffer.concat([bad, other, kamstrup.subarray(0, 40)]));
    expect(lines.map((l) => l.error?.code)).toEqual(['E_MBUS_CHECKSUM', 'E_MBUS_CI', 'E_MBUS_INCOMPLETE']);
  });
});
