/** PointInfo.untilSeen (a TIC label kept by default): out of summaries, and never stale, until a first reading. */
import { describe, expect, it } from 'vitest';
import type { PointInfo, Reading } from '../../src/core/types.js';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { QualityChecker } from '../../src/pipeline/quality.js';

const W = 60_000;
const T0 = Date.parse('2026-01-15T10:00:00Z');
const POINTS: PointInfo[] = [
  { device: 'linky', point: 'east', dataClass: 'energy', measure: 'counter', untilSeen: true },
  { device: 'linky', point: 'easf02', dataClass: 'energy', measure: 'counter', untilSeen: true },
  { device: 'room', point: 'temperature', dataClass: 'comfort', measure: 'gauge' },
];
const reading = (point: string, ts: number, value: number): Reading => ({ device: point === 'temperature' ? 'room' : 'linky', point, ts, value, quality: 'good' });

describe('points reported once seen', () => {
  it('stay out of summaries until a reading arrives, then report their gaps as any point', () => {
    const aggregator = new Aggregator({ site: 's', gateway: 'g', windowMs: W, timeZone: 'UTC', points: POINTS });
    const quality = new QualityChecker(POINTS.map((p) => ({ device: p.device, point: p.point, measure: p.measure, staleAfterMs: 10_000, staleOnceSeen: p.untilSeen })));
    const feed = (readings: Reading[]) => aggregator.add(readings.map((r) => quality.check(r)));
    feed([reading('east', T0 + 1000, 100), reading('temperature', T0 + 1000, 20)]);
    for (let t = T0; t <= T0 + W; t += 5000) feed(quality.sweep(t));
    const [first] = aggregator.close(T0 + W);
    expect(first!.points.map((p) => p.point)).toEqual(['east', 'temperature']);
    // easf02 was never sent: no stale marks for it either.
    expect(quality.stats().stale).toBeGreaterThan(0); // east and temperature fell silent after T0+1s
    // A second window without any east reading: east is now a known point, reported with count 0.
    for (let t = T0 + W; t <= T0 + 2 * W; t += 5000) feed(quality.sweep(t));
    const [second] = aggregator.close(T0 + 2 * W);
    expect(second!.points.map((p) => [p.point, p.count])).toEqual([
      ['east', 0],
      ['temperature', 0],
    ]);
  });

  it('a never-seen point gets no stale marks', () => {
    const quality = new QualityChecker([{ device: 'linky', point: 'easf02', measure: 'counter', staleAfterMs: 1000, staleOnceSeen: true }]);
    for (let t = T0; t < T0 + 60_000; t += 500) expect(quality.sweep(t)).toEqual([]);
  });
});
