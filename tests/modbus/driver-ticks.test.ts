/**
 * Tick scheduling against the wall clock. Timers run on the monotonic clock while ticks fall on the wall
 * clock, which NTP slews: a timer then fires a little before its tick by Date.now(). A tick must still
 * be read once. The bus is a stand-in answering at once: the fault is the clocks' drift, which a real
 * device cannot produce on demand.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { ModbusBus } from '../../src/bus/modbus-bus.js';
import { ModbusDeviceDriver } from '../../src/drivers/modbus/modbus-driver.js';
import { getProfile } from '../../src/profiles/index.js';

const soil = getProfile('soil-dfrobot');

afterEach(() => {
  vi.useRealTimers();
});

function instantBus(): { bus: ModbusBus; reads: number[] } {
  const reads: number[] = [];
  const bus = {
    read: async (_unit: number, _fn: number, address: number, count: number) => {
      reads.push(address);
      return new Array<number>(count).fill(0);
    },
  } as unknown as ModbusBus;
  return { bus, reads };
}

/** Polls for `forMs` of timer time with a wall clock that loses `slowPerMille` ms per second. */
async function pollWithSlowWallClock(slowPerMille: number, forMs: number): Promise<{ seen: Map<string, number>; wallElapsed: number }> {
  vi.useFakeTimers({ now: 1_000_000_037 });
  const t0 = Date.now();
  const wall = () => Date.now() - Math.floor(((Date.now() - t0) * slowPerMille) / 1000);
  const { bus } = instantBus();
  const d = new ModbusDeviceDriver({
    deviceId: 'tree', unit: 1, pollMs: 200, pointPollMs: { ec: 600 }, profile: soil, points: soil.points,
    bus, timing: { kind: 'rtu', baud: 9600 }, logger: silentLogger(), now: wall,
  });
  const seen = new Map<string, number>();
  const w0 = wall();
  await d.start((rs) => rs.forEach((r) => seen.set(r.point, (seen.get(r.point) ?? 0) + 1)));
  await vi.advanceTimersByTimeAsync(forMs);
  await d.stop();
  return { seen, wallElapsed: wall() - w0 };
}

describe('ticks on a slewed wall clock', () => {
  it('reads each point once per tick of its own interval, no tick twice', async () => {
    for (const slow of [0, 5, 50]) {
      const { seen, wallElapsed } = await pollWithSlowWallClock(slow, 30_000);
      // One immediate read, then one per tick passed by the wall clock (a tick falls on a multiple).
      const fastTicks = Math.floor(wallElapsed / 200) + 1;
      const slowTicks = Math.floor(wallElapsed / 600) + 1;
      expect.soft(seen.get('moisture'), `wall clock ${slow}‰ slow`).toBeLessThanOrEqual(fastTicks + 1);
      expect.soft(seen.get('moisture'), `wall clock ${slow}‰ slow`).toBeGreaterThanOrEqual(fastTicks - 1);
      expect.soft(seen.get('ec'), `wall clock ${slow}‰ slow`).toBeLessThanOrEqual(slowTicks + 1);
      expect.soft(seen.get('ec'), `wall clock ${slow}‰ slow`).toBeGreaterThanOrEqual(slowTicks - 1);
      vi.useRealTimers();
    }
  });

  it('follows a wall clock set back by an hour instead of waiting for the old time', async () => {
    vi.useFakeTimers({ now: 1_000_000_000 });
    let offset = 0;
    const { bus } = instantBus();
    const d = new ModbusDeviceDriver({
      deviceId: 'tree', unit: 1, pollMs: 200, profile: soil, points: soil.points,
      bus, timing: { kind: 'rtu', baud: 9600 }, logger: silentLogger(), now: () => Date.now() - offset,
    });
    let cycles = 0;
    await d.start(() => cycles++);
    await vi.advanceTimersByTimeAsync(1000);
    offset = 3_600_000;
    const before = cycles;
    await vi.advanceTimersByTimeAsync(2000);
    await d.stop();
    expect(cycles - before).toBeGreaterThanOrEqual(8);
  });
});
