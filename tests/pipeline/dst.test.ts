/**
 * Daylight-saving days end to end through the aggregator: a sensor read every minute and an energy
 * meter, through a whole local day in Paris, with 15-minute and 1-day windows.
 */
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import type { PointInfo, Reading, WindowSummary } from '../../src/core/types.js';

const MIN = 60_000;
const H = 60 * MIN;
const DAY = 24 * H;
const ZONE = 'Europe/Paris';

const POINTS: readonly PointInfo[] = [
  { device: 'room', point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge' },
  { device: 'meter', point: 'energy', unit: 'Wh', dataClass: 'energy', measure: 'counter' },
];

const localTime = new Intl.DateTimeFormat('en-GB', { timeZone: ZONE, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const label = (ts: number): string => localTime.format(ts);

/** One reading a minute from `from` to `to` (exclusive): temperature, and an index growing 10 Wh a minute. */
function runDay(windowMs: number, from: number, to: number): WindowSummary[] {
  const agg = new Aggregator({
    site: 'mairie', gateway: 'gw1', windowMs, timeZone: ZONE, points: POINTS,
    expectedPerWindow: () => windowMs / MIN,
  });
  const summaries: WindowSummary[] = [];
  for (let ts = from, i = 0; ts < to; ts += MIN, i++) {
    summaries.push(...agg.close(ts - 5000)); // the gateway closes with a grace of a few seconds
    const readings: Reading[] = [
      { device: 'room', point: 'temperature', ts, value: 20 + (i % 7), quality: 'good' },
      { device: 'meter', point: 'energy', ts, value: 1_000_000 + 10 * i, quality: 'good' },
    ];
    agg.add(readings);
  }
  summaries.push(...agg.close(to + 5000));
  expect(agg.stats()).toMatchObject({ late: 0, ahead: 0, openWindows: 0 });
  return summaries;
}

const point = (s: WindowSummary, name: string) => s.points.find((p) => p.point === name)!;

describe('spring forward, Paris 2026-03-29 (02:00 CET -> 03:00 CEST)', () => {
  const from = Date.parse('2026-03-28T23:00:00Z'); // local midnight
  const to = Date.parse('2026-03-29T22:00:00Z'); // next local midnight, 23 h later

  it('15-minute windows: 92 full windows at local quarter hours, none labelled 02:xx', () => {
    const summaries = runDay(15 * MIN, from, to);
    expect(summaries).toHaveLength(92);
    for (const s of summaries) {
      expect(s.end - s.start).toBe(15 * MIN);
      expect(point(s, 'temperature')).toMatchObject({ count: 15, expected: 15 });
    }
    const labels = summaries.map((s) => label(s.start));
    expect(labels.filter((l) => l.startsWith('02:'))).toEqual([]);
    expect(labels.slice(6, 10)).toEqual(['01:30', '01:45', '03:00', '03:15']);
    expect(new Set(summaries.map((s) => s.id)).size).toBe(92);
  });

  it('a 1-day window lasts 23 h, expects 23 h of readings, and its delta is the day consumption', () => {
    const [day, ...rest] = runDay(DAY, from, to);
    expect(rest).toEqual([]);
    expect([day!.start, day!.end]).toEqual([from, to]);
    expect(point(day!, 'temperature')).toMatchObject({ count: 23 * 60, expected: 23 * 60 });
    expect(point(day!, 'energy').delta).toBe(10 * (23 * 60 - 1));
  });
});

describe('fall back, Paris 2026-10-25 (03:00 CEST -> 02:00 CET)', () => {
  const from = Date.parse('2026-10-24T22:00:00Z'); // local midnight
  const to = Date.parse('2026-10-25T23:00:00Z'); // next local midnight, 25 h later

  it('15-minute windows: 100 full windows, the repeated 02:xx quarter hours twice, every id distinct', () => {
    const summaries = runDay(15 * MIN, from, to);
    expect(summaries).toHaveLength(100);
    for (const s of summaries) expect(point(s, 'temperature')).toMatchObject({ count: 15, expected: 15 });
    const twice = summaries.map((s) => label(s.start)).filter((l) => l.startsWith('02:'));
    expect(twice).toEqual(['02:00', '02:15', '02:30', '02:45', '02:00', '02:15', '02:30', '02:45']);
    expect(new Set(summaries.map((s) => s.id)).size).toBe(100);
  });

  it('a 1-day window lasts 25 h, and consecutive day deltas add up to the consumption', () => {
    const summaries = runDay(DAY, from, to + DAY);
    expect(summaries.map((s) => (s.end - s.start) / H)).toEqual([25, 24]);
    expect(point(summaries[0]!, 'temperature')).toMatchObject({ count: 25 * 60, expected: 25 * 60 });
    const total = summaries.reduce((sum, s) => sum + (point(s, 'energy').delta ?? 0), 0);
    expect(total).toBe(10 * ((25 + 24) * 60 - 1));
  });
});
