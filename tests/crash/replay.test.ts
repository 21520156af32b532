/** CrashRecovery on a real store file and a real aggregator: paging, the gap, and never a second summary. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import type { PointInfo, Reading } from '../../src/core/types.js';
import { CrashRecovery } from '../../src/gateway/recovery.js';
import { Aggregator, summaryId } from '../../src/pipeline/aggregator.js';
import { Store } from '../../src/store/store.js';

const W = 60_000;
// Recent: the store's retention (7 days by default) would delete older readings as they are written.
const T0 = Math.floor(Date.now() / W) * W - 10 * W;
const POINTS: PointInfo[] = [
  { device: 'm', point: 'a', dataClass: 'energy', measure: 'gauge' },
  { device: 'm', point: 'b', dataClass: 'energy', measure: 'gauge' },
];
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-replay-'));
  dirs.push(dir);
  const store = Store.openUnencrypted({ path: join(dir, 's.db') });
  const aggregator = new Aggregator({ site: 's', gateway: 'g', windowMs: W, timeZone: 'UTC', points: POINTS, expectedPerWindow: () => 600 });
  const ctx = { store, aggregator, windowMs: W, timeZone: 'UTC', expectedPerWindow: new Map([['m.a', 600], ['m.b', 600]]), logger: silentLogger() };
  return { store, aggregator, ctx };
}

/** Both points every 100 ms (two readings per instant) from `from` to `to`. */
function readings(from: number, to: number): Reading[] {
  const out: Reading[] = [];
  for (let ts = from; ts < to; ts += 100) for (const point of ['a', 'b']) out.push({ device: 'm', point, ts, value: ts % 1000, quality: 'good' });
  return out;
}

describe('CrashRecovery', () => {
  it('on a store without a mark, settles what is stored and rebuilds nothing', () => {
    const { store, ctx } = setup();
    store.appendReadings(readings(T0, T0 + 5000));
    const { closed } = CrashRecovery.replay(ctx);
    expect(closed).toEqual([]);
    expect(store.windowsClosedBefore()).toBe(T0 + 4900 + 1);
  });

  it('rebuilds every window after the mark across pages (readings of one instant never split), with the gap in the last one', () => {
    const { store, aggregator, ctx } = setup();
    store.markWindowsClosedBefore(T0);
    store.appendReadings(readings(T0 - 3000, T0)); // before the mark: summarised already
    // 2.5 windows, 3000 readings per window: several 5000-reading pages, cut inside an instant.
    store.appendReadings(readings(T0, T0 + 2.5 * W));
    const last = T0 + 2.5 * W - 100;

    const { recovery, closed } = CrashRecovery.replay(ctx);
    expect(closed.map((s) => s.start)).toEqual([T0, T0 + W]);
    for (const summary of closed) {
      expect(summary.points.map((p) => p.count)).toEqual([600, 600]);
      expect(recovery.settle(summary)?.recovered).toEqual({ lost: 0 }); // ended before the gap
    }
    // The newest window goes on with live readings; the gap runs from the last stored one to the first live one.
    const live = readings(T0 + 2.8 * W, T0 + 3 * W);
    expect(recovery.noteLive(live)).toBe(T0 + 2.8 * W);
    expect(recovery.noteLive(live)).toBeUndefined(); // once
    aggregator.add(live);
    const [third] = aggregator.close(T0 + 3 * W);
    expect(third!.points.map((p) => p.count)).toEqual([300 + 120, 300 + 120]);
    const settled = recovery.settle(third!)!;
    expect(settled.recovered).toEqual({ gapStart: last, gapEnd: T0 + 2.8 * W, lost: Math.round((1200 * (T0 + 2.8 * W - last)) / W) });
    // A summary of a window not rebuilt passes unchanged.
    const later = { ...third!, start: T0 + 3 * W, end: T0 + 4 * W };
    expect(recovery.settle(later)).toBe(later);
  });

  it('after a downtime of many windows, closing at the first live reading (as the gateway does) keeps live readings from being "ahead"', () => {
    const { store, aggregator, ctx } = setup();
    store.markWindowsClosedBefore(T0);
    store.appendReadings(readings(T0, T0 + 30_000));
    const { recovery } = CrashRecovery.replay(ctx);
    const live = readings(T0 + 6 * W, T0 + 6 * W + 1000);
    const firstLive = recovery.noteLive(live)!;
    const [rebuilt] = aggregator.close(firstLive - 2000);
    aggregator.add(live);
    expect(recovery.settle(rebuilt!)?.recovered).toEqual({ gapStart: T0 + 29_900, gapEnd: T0 + W, lost: Math.round((1200 * (W - 29_900)) / W) });
    expect(aggregator.stats().ahead).toBe(0);
  });

  it('never rebuilds a window whose summary reached the outbox (killed between the outbox write and the mark)', () => {
    const { store, ctx } = setup();
    store.markWindowsClosedBefore(T0);
    store.appendReadings(readings(T0, T0 + W + 5000));
    store.enqueue({ id: summaryId('s', 'g', T0), topic: 't', payload: Buffer.from('x'), createdAt: T0 + W });
    store.ack(summaryId('s', 'g', T0)); // delivered, still in the audit trail
    const { recovery, closed } = CrashRecovery.replay(ctx);
    expect(closed.map((s) => s.start)).toEqual([T0]);
    expect(recovery.settle(closed[0]!)).toBeUndefined();
  });
});
