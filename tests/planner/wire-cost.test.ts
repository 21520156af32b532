import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { costBreakdown, requestCostMs, t35Ms, type ReadFunction } from '../../src/drivers/modbus/wire-cost.js';
import { timingArb } from './arbitraries.js';

describe('wire cost, figures worked by hand from hardware.md §6', () => {
  it('t3.5 scales with baud up to 19200, then is fixed at 1.75 ms', () => {
    expect(t35Ms(9600)).toBeCloseTo((3.5 * 11 * 1000) / 9600, 12); // 4.0104 ms
    expect(t35Ms(19200)).toBeCloseTo(2.0052083, 6);
    expect(t35Ms(38400)).toBe(1.75);
    expect(t35Ms(115200)).toBe(1.75);
  });

  it('RTU 9600 baud, 2 input registers: 8 + 9 = 17 chars = 19.48 ms, + 2 × 4.01 ms, + turnaround', () => {
    const b = costBreakdown({ kind: 'rtu', baud: 9600 }, 4, 2, 20);
    expect(b.requestBytes).toBe(8);
    expect(b.responseBytes).toBe(9);
    expect(b.transferMs).toBeCloseTo(19.479167, 6);
    expect(b.lineOverheadMs).toBeCloseTo(8.020833, 6);
    // (17 × 11 + 2 × 38.5) / 9.6 = 264 / 9.6 = 27.5 ms on the line, + 20 ms turnaround.
    expect(b.totalMs).toBeCloseTo(47.5, 9);
  });

  it('RTU 115200 baud, 10 holding registers: 33 chars + fixed silences', () => {
    // 8 + (5 + 20) = 33 chars × 11 bits = 363 bits → 3.151 ms; 2 × 1.75 ms; + 5 ms.
    expect(requestCostMs({ kind: 'rtu', baud: 115200 }, 3, 10, 5)).toBeCloseTo(363 / 115.2 + 3.5 + 5, 9);
  });

  it('RTU coils are packed 8 per byte: 9 coils take 2 data bytes', () => {
    const b = costBreakdown({ kind: 'rtu', baud: 9600 }, 1, 9, 0);
    expect(b.responseBytes).toBe(7);
    expect(b.totalMs).toBeCloseTo((15 * 11 + 77) / 9.6, 9);
    expect(requestCostMs({ kind: 'rtu', baud: 9600 }, 2, 8, 0)).toBeCloseTo((14 * 11 + 77) / 9.6, 9);
  });

  it('TCP: 12-byte request, 9 + 2N response, one round trip, turnaround', () => {
    const b = costBreakdown({ kind: 'tcp', rttMs: 1 }, 3, 2, 3);
    expect(b.requestBytes).toBe(12);
    expect(b.responseBytes).toBe(13);
    // 25 bytes × 8 bits at 100 Mbit/s = 0.002 ms.
    expect(b.transferMs).toBeCloseTo(0.002, 12);
    expect(b.totalMs).toBeCloseTo(4.002, 12);
    expect(requestCostMs({ kind: 'tcp', rttMs: 0, bitsPerSecond: 8000 }, 1, 16, 0)).toBeCloseTo(
      ((12 + 9 + 2) * 8 * 1000) / 8000,
      9,
    );
  });

  it('rejects a line timing that would make costs meaningless', () => {
    expect(() => requestCostMs({ kind: 'rtu', baud: 0 }, 3, 1, 0)).toThrow(
      expect.objectContaining({ code: 'MODBUS_TIMING_INVALID' }),
    );
    expect(() => requestCostMs({ kind: 'tcp', rttMs: -1 }, 3, 1, 0)).toThrow(
      expect.objectContaining({ code: 'MODBUS_TIMING_INVALID' }),
    );
  });

  it('cost never decreases with the count and is always positive (the planner relies on it)', () => {
    fc.assert(
      fc.property(
        timingArb,
        fc.constantFrom<ReadFunction>(1, 2, 3, 4),
        fc.integer({ min: 1, max: 1999 }),
        fc.integer({ min: 0, max: 100 }),
        (timing, fn, count, turnaround) => {
          const here = requestCostMs(timing, fn, count, turnaround);
          expect(here).toBeGreaterThan(0);
          expect(requestCostMs(timing, fn, count + 1, turnaround)).toBeGreaterThanOrEqual(here);
        },
      ),
    );
  });
});
