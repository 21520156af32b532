/**
 * The verified frames of the shared hardware reference, built and decoded through the shipped profiles:
 * the request a profile implies must be byte-identical to the reference, and the reply must decode to its values.
 */
import { describe, expect, it } from 'vitest';
import { decodePoint } from '../../src/drivers/modbus/codec.js';
import { crc16modbus } from '../../src/drivers/modbus/crc.js';
import { getProfile } from '../../src/profiles/index.js';

const bytes = (hex: string): number[] => hex.trim().split(/\s+/).map((h) => parseInt(h, 16));
const FUNCTION = { coil: 1, discrete: 2, holding: 3, input: 4 } as const;

function withCrc(body: number[]): number[] {
  const crc = crc16modbus(Uint8Array.from(body));
  return [...body, crc & 0xff, crc >> 8];
}

/** The RTU read request for `count` registers from the profile's first named point, to its default unit. */
function requestFor(profileId: string, firstPoint: string, count: number): number[] {
  const profile = getProfile(profileId);
  const p = profile.points.find((x) => x.name === firstPoint)!;
  return withCrc([profile.defaults.unit!, FUNCTION[p.kind], p.address >> 8, p.address & 0xff, count >> 8, count & 0xff]);
}

/** Words of a read reply, after checking its CRC, function and byte count. */
function replyWords(frame: number[], fn: number): number[] {
  expect(withCrc(frame.slice(0, -2))).toEqual(frame);
  expect(frame[1]).toBe(fn);
  const data = frame.slice(3, -2);
  expect(data.length).toBe(frame[2]);
  return Array.from({ length: data.length / 2 }, (_, i) => (data[2 * i]! << 8) | data[2 * i + 1]!);
}

/** Decodes every profile point that lies inside the replied block starting at `start`. */
function decodeBlock(profileId: string, start: number, words: number[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const p of getProfile(profileId).points) {
    const at = p.address - start;
    if (at >= 0 && at < words.length) out[p.name] = decodePoint(words.slice(at), p).value;
  }
  return out;
}

describe('reference frames through the profiles', () => {
  it.each(['eastron-sdm630', 'eastron-sdm120'])('%s: voltage_l1 230.2 V', (id) => {
    expect(requestFor(id, 'voltage_l1', 2)).toEqual(bytes('01 04 00 00 00 02 71 CB'));
    const values = decodeBlock(id, 0, replyWords(bytes('01 04 04 43 66 33 34 1B 38'), 4));
    expect(Object.keys(values)).toEqual(['voltage_l1']);
    expect(values.voltage_l1).toBeCloseTo(230.2, 4);
  });

  it('soil-dfrobot: 65.8 %, -10.1 °C, 1000 µS/cm = 0.1 S/m', () => {
    expect(requestFor('soil-dfrobot', 'moisture', 3)).toEqual(bytes('01 03 00 00 00 03 05 CB'));
    const words = replyWords(bytes('01 03 06 02 92 FF 9B 03 E8 D8 0F'), 3);
    expect(decodeBlock('soil-dfrobot', 0, words)).toEqual({ moisture: 65.8, temperature: -10.1, ec: 0.1 });
  });

  it('soil-sensecap: 21.92 °C, 37.31 %, 590 µS/cm = 0.059 S/m', () => {
    expect(requestFor('soil-sensecap', 'temperature', 3)).toEqual(bytes('01 04 00 00 00 03 B0 0B'));
    const words = replyWords(bytes('01 04 06 08 90 0E 93 02 4E D2 57'), 4);
    expect(decodeBlock('soil-sensecap', 0, words)).toEqual({ temperature: 21.92, vwc: 37.31, ec: 0.059 });
  });

  it('senseair-s8: 400 ppm, asked of unit 0xFE', () => {
    expect(requestFor('senseair-s8', 'co2', 1)).toEqual(bytes('FE 04 00 03 00 01 D5 C5'));
    const words = replyWords(bytes('FE 04 02 01 90 AC D8'), 4);
    expect(decodeBlock('senseair-s8', 3, words)).toEqual({ co2: 400 });
  });

  it('diematic3: sign-magnitude tenths, no-sensor marker, pressure in tenths of bar as Pa', () => {
    const profile = getProfile('diematic3');
    const point = (name: string) => profile.points.find((p) => p.name === name)!;
    expect(decodePoint([0x8065], point('outdoor_temp'))).toEqual({ value: -10.1 });
    expect(decodePoint([0x00d7], point('boiler_temp'))).toEqual({ value: 21.5 });
    expect(decodePoint([0xffff], point('return_temp'))).toEqual({ value: null, reason: 'no-sensor' });
    expect(decodePoint([15], point('water_pressure'))).toEqual({ value: 150000 });
    expect(decodePoint([3], point('alarm_code'))).toEqual({ value: 3 });
  });
});
