import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bestGuesses, describeIds, explainOpenFailure, parseIdRanges, type ModelGuess } from '../../src/drivers/modbus/scan.js';
import { parseAddress } from '../../src/cli/commands/read.js';

const idSet = fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 40 }).map((a) => a.sort((x, y) => x - y));

describe('unit id ranges', () => {
  it('describeIds and parseIdRanges are inverse on any set of ids', () => {
    fc.assert(
      fc.property(idSet, (ids) => {
        expect(parseIdRanges(describeIds(ids))).toEqual(ids);
      }),
    );
  });

  it('accepts overlapping parts and spaces, sorted without duplicates', () => {
    expect(parseIdRanges(' 5-7, 1,6 ,254')).toEqual([1, 5, 6, 7, 254]);
  });

  it('refuses broadcast 0, ids past 255, reversed ranges and junk', () => {
    for (const bad of ['0', '1-256', '9-3', 'a', '', '1-', '1--3']) expect(() => parseIdRanges(bad), bad).toThrow(/not a unit id range/);
  });
});

describe('parseAddress', () => {
  it('reads decimal and 0x hex alike', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (n) => {
        expect(parseAddress(String(n))).toBe(n);
        expect(parseAddress(`0x${n.toString(16)}`)).toBe(n);
        expect(parseAddress(`0X${n.toString(16).toUpperCase()}`)).toBe(n);
      }),
    );
  });
  it('refuses addresses past 65535 and junk', () => {
    for (const bad of ['65536', '0x10000', '-1', '1.5', 'x12']) expect(() => parseAddress(bad), bad).toThrow(/wire address/);
  });
});

describe('explainOpenFailure', () => {
  const serial = { type: 'serial', port: '/dev/ttyUSB0', baud: 9600, parity: 'none', dataBits: 8, stopBits: 1 } as const;
  const cases: [string, string, RegExp][] = [
    ['Error: No such file or directory, cannot open /dev/ttyUSB0', 'E_SERIAL_NOT_FOUND', /is the USB adapter plugged in/],
    ['Error: Permission denied, cannot open /dev/ttyUSB0', 'E_SERIAL_PERMISSION', /dialout group/],
    ['Error Resource temporarily unavailable Cannot lock port', 'E_SERIAL_BUSY', /busy: another program holds it, the gateway perhaps/],
    ['Error: Inappropriate ioctl for device setting custom baud rate of 9600', 'E_SERIAL_NOT_TTY', /not a serial port/],
  ];
  for (const [message, code, text] of cases) {
    it(`${code} from "${message}"`, () => {
      const e = explainOpenFailure(serial, new Error(message));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(text);
    });
  }
});

describe('bestGuesses', () => {
  const g = (profile: string, pointsPlausible: number, pointsTotal: number): ModelGuess => ({ profile, manufacturer: '', model: '', pointsPlausible, pointsTotal });
  it('prefers more plausible points, then the larger share, and keeps ties', () => {
    expect(bestGuesses([g('sdm120', 7, 7), g('sdm630', 13, 14)]).map((x) => x.profile)).toEqual(['sdm630']);
    expect(bestGuesses([g('sdm630', 7, 14), g('sdm120', 7, 7)]).map((x) => x.profile)).toEqual(['sdm120']);
    expect(bestGuesses([g('a', 3, 3), g('b', 3, 3)]).map((x) => x.profile)).toEqual(['a', 'b']);
    expect(bestGuesses([])).toEqual([]);
  });
});
