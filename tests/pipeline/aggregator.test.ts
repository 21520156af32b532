import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Aggregator, MAX_OPEN_WINDOWS, type AggregatorOptions } from '../../src/pipeline/aggregator.js';
import type { BadReason, PointInfo, PointSummary, Quality, Reading, WindowSummary } from '../../src/core/types.js';

const MIN = 60_000;
const H = 60 * MIN;
const W = 15 * MIN;
const T0 = Date.parse('2026-01-15T10:00:00Z'); // a 15-minute boundary in UTC

const POINTS: readonly PointInfo[] = [
  { device: 'room', point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge', range: [-20, 60] },
  { device: 'room', point: 'humidity', unit: '%RH', dataClass: 'comfort', measure: 'gauge' },
  { device: 'meter', point: 'energy', unit: 'Wh', dataClass: 'energy', measure: 'counter' },
  { device: 'meter', point: 'tariff', dataClass: 'energy', measure: 'gauge' },
];

function aggregator(overrides: Partial<AggregatorOptions> = {}): Aggregator {
  return new Aggregator({ site: 'mairie', gateway: 'gw1', windowMs: W, timeZone: 'UTC', points: POINTS, ...overrides });
}

const good = (device: string, point: string, ts: number, value: number | string): Reading => ({
  device,
  point,
  ts,
  value,
  quality: 'good',
});
const temp = (ts: number, value: number): Reading => good('room', 'temperature', ts, value);
const energy = (ts: number, value: number): Reading => good('meter', 'energy', ts, value);

function pointOf(summary: WindowSummary | undefined, device: string, point: string): PointSummary {
  const found = summary?.points.find((p) => p.device === device && p.point === point);
  if (!found) throw new Error(`no ${device}.${point} in summary`);
  return found;
}

// ---- Reference: straightforward statistics over the readings of one window ----

const REASONS: readonly BadReason[] = ['timeout', 'crc', 'range', 'stale'];

const readingArb = fc.record({
  point: fc.constantFrom('temperature', 'humidity'),
  // Three windows (within the open-window bound), on a 30 s grid so that equal timestamps occur.
  offset: fc.integer({ min: 0, max: (3 * W) / 30_000 - 1 }).map((k) => k * 30_000),
  value: fc.double({ min: -1e6, max: 1e6, noNaN: true }),
  quality: fc.constantFrom<Quality>('good', 'good', 'good', 'bad', 'stale'),
  reason: fc.option(fc.constantFrom(...REASONS), { nil: undefined }),
});
type GeneratedReading = typeof readingArb extends fc.Arbitrary<infer T> ? T : never;

function toReading(g: GeneratedReading): Reading {
  const base = { device: 'room', point: g.point, ts: T0 + g.offset };
  if (g.quality === 'good') return { ...base, value: g.value, quality: 'good' };
  return { ...base, value: null, quality: g.quality, ...(g.reason && { reason: g.reason }) };
}

function referenceStats(readings: readonly Reading[]) {
  const goodOnes = readings.filter((r) => r.quality === 'good');
  const values = goodOnes.map((r) => r.value as number);
  const bad: Partial<Record<BadReason, number>> = {};
  for (const r of readings) {
    if (r.quality === 'good') continue;
    const reason = r.reason ?? (r.quality === 'stale' ? 'stale' : 'decode');
    bad[reason] = (bad[reason] ?? 0) + 1;
  }
  if (values.length === 0) return { count: 0, bad };
  let latest = goodOnes[0]!;
  for (const r of goodOnes) if (r.ts >= latest.ts) latest = r;
  return {
    count: values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    last: latest.value,
    bad,
  };
}

describe('Aggregator statistics', () => {
  it('count, min, max, mean, last and bad counts equal a straightforward computation per window', () => {
    fc.assert(
      fc.property(fc.array(readingArb, { maxLength: 200 }), fc.integer({ min: 1, max: 20 }), (generated, chunk) => {
        const readings = generated.map(toReading);
        const agg = aggregator();
        for (let i = 0; i < readings.length; i += chunk) agg.add(readings.slice(i, i + chunk));
        const summaries = agg.close(T0 + 3 * W);
        const startsWithReadings = [...new Set(readings.map((r) => Math.floor(r.ts / W) * W))].sort((a, b) => a - b);
        expect(summaries.map((s) => s.start)).toEqual(startsWithReadings);
        for (const summary of summaries) {
          for (const point of ['temperature', 'humidity']) {
            const inWindow = readings.filter((r) => r.point === point && r.ts >= summary.start && r.ts < summary.end);
            const { count, min, max, mean, last, bad } = pointOf(summary, 'room', point);
            expect({ count, min, max, mean, last, bad }).toEqual(referenceStats(inWindow));
          }
        }
      }),
    );
  });

  it('emits every configured point, in configuration order, with its static facts', () => {
    const agg = aggregator();
    agg.add([temp(T0 + 1000, 21.5)]);
    const [summary] = agg.close(T0 + W);
    expect(summary!.points.map((p) => `${p.device}.${p.point}`)).toEqual(POINTS.map((p) => `${p.device}.${p.point}`));
    expect(pointOf(summary, 'room', 'temperature')).toMatchObject({ unit: 'Cel', dataClass: 'comfort', measure: 'gauge' });
    expect(pointOf(summary, 'room', 'humidity')).toEqual({
      device: 'room', point: 'humidity', unit: '%RH', dataClass: 'comfort', measure: 'gauge', count: 0, expected: 0, bad: {},
    });
  });

  it('text values produce only last (and count), never min/max/mean', () => {
    const agg = aggregator();
    agg.add([good('meter', 'tariff', T0 + 2000, 'HC'), good('meter', 'tariff', T0 + 1000, 'HP')]);
    const tariff = pointOf(agg.close(T0 + W)[0], 'meter', 'tariff');
    expect(tariff).toMatchObject({ count: 2, last: 'HC' });
    expect(tariff).not.toHaveProperty('min');
    expect(tariff).not.toHaveProperty('mean');
  });

  it('on equal timestamps the later arrival is last', () => {
    const agg = aggregator();
    agg.add([temp(T0 + 5000, 20), temp(T0 + 5000, 22), temp(T0 + 1000, 25)]);
    expect(pointOf(agg.close(T0 + W)[0], 'room', 'temperature').last).toBe(22);
  });

  it('good readings without a usable value count as bad decode, not as statistics', () => {
    const agg = aggregator();
    agg.add([temp(T0, Number.NaN), { ...temp(T0 + 1, 0), value: null }, temp(T0 + 2, 20)]);
    expect(pointOf(agg.close(T0 + W)[0], 'room', 'temperature')).toMatchObject({ count: 1, mean: 20, bad: { decode: 2 } });
  });

  it('ignores and counts readings of unknown points', () => {
    const agg = aggregator();
    agg.add([good('room', 'co2', T0, 400), good('boiler', 'temperature', T0, 60)]);
    expect(agg.stats().unknownPoints).toBe(2);
    expect(agg.close(T0 + W)).toEqual([]);
  });

  it('scales expected counts by the real window length (a 23 h day in Paris)', () => {
    const day = 24 * H;
    const expectedPerWindow = (key: string): number => (key === 'room.temperature' ? 96 : 0);
    const agg = aggregator({ windowMs: day, timeZone: 'Europe/Paris', expectedPerWindow });
    agg.add([temp(Date.parse('2026-03-29T10:00:00Z'), 20)]);
    const [summary] = agg.close(Date.parse('2026-03-30T00:00:00Z'));
    expect(summary!.end - summary!.start).toBe(23 * H);
    expect(pointOf(summary, 'room', 'temperature').expected).toBe(92);
    expect(pointOf(summary, 'room', 'humidity').expected).toBe(0);
  });
});

describe('Aggregator counters', () => {
  it('a meter reset in the middle never yields negative consumption', () => {
    const agg = aggregator();
    agg.add([1000, 1005, 1012, 0, 4, 9].map((v, i) => energy(T0 + i * 10_000, v)));
    // +5 +7, the drop to 0 adds nothing, then +4 +5
    expect(pointOf(agg.close(T0 + W)[0], 'meter', 'energy')).toMatchObject({ delta: 21, min: 0, max: 1012, last: 9 });
  });

  it('a rollover of the index counts only the increases on each side of it', () => {
    const agg = aggregator();
    agg.add([99_990, 99_998, 3, 10].map((v, i) => energy(T0 + i * 10_000, v)));
    expect(pointOf(agg.close(T0 + W)[0], 'meter', 'energy').delta).toBe(8 + 7);
  });

  it('consumption between windows goes to the later window, so consecutive deltas add up', () => {
    const agg = aggregator();
    agg.add([energy(T0 + W - 1000, 100), energy(T0 + W + 1000, 130), energy(T0 + 2 * W - 1, 150)]);
    const [first, second] = agg.close(T0 + 2 * W);
    expect(pointOf(first, 'meter', 'energy').delta).toBe(0);
    expect(pointOf(second, 'meter', 'energy').delta).toBe(50);
  });

  it('a gap longer than a window is not bridged, and out-of-order readings are left out', () => {
    const agg = aggregator();
    agg.add([energy(T0, 100)]);
    agg.close(T0 + W);
    const late = T0 + 2 * W;
    agg.add([energy(late + 1000, 500), energy(late + 3000, 510), energy(late + 2000, 505), energy(late + 4000, 512)]);
    const [after] = agg.close(T0 + 3 * W);
    // 500 -> 510 -> 512; the out-of-order 505 counts as a reading but not as a step
    expect(pointOf(after, 'meter', 'energy')).toMatchObject({ delta: 12, count: 4, last: 512 });
  });

  it('delta equals the sum of positive steps between consecutive readings in the same or adjacent windows', () => {
    const stepArb = fc.record({ gap: fc.integer({ min: 1, max: 2 * W }), change: fc.integer({ min: -500, max: 100 }) });
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 60 }), (steps) => {
        let ts = T0;
        let value = 1000;
        const readings = steps.map(({ gap, change }) => {
          ts += gap;
          value = Math.max(0, value + change);
          return energy(ts, value);
        });
        const agg = aggregator();
        const summaries: WindowSummary[] = [];
        for (const r of readings) {
          summaries.push(...agg.close(r.ts)); // as the gateway would: close as time advances
          agg.add([r]);
        }
        summaries.push(...agg.flushAll(ts + W));
        const expected = new Map<number, number>();
        readings.forEach((r, i) => {
          const start = Math.floor(r.ts / W) * W;
          const previous = readings[i - 1];
          const step = previous && previous.ts >= start - W ? Math.max(0, (r.value as number) - (previous.value as number)) : 0;
          expected.set(start, (expected.get(start) ?? 0) + step);
        });
        expect(new Map(summaries.map((s) => [s.start, pointOf(s, 'meter', 'energy').delta]))).toEqual(expected);
      }),
    );
  });
});

describe('Aggregator windows and bounds', () => {
  it('drops and counts a reading older than an already-closed window', () => {
    const agg = aggregator();
    agg.add([temp(T0 + 1000, 20)]);
    const [closed] = agg.close(T0 + W + 5000);
    agg.add([temp(T0 + 2000, 99), temp(T0 + W + 1000, 21)]);
    expect(agg.stats().late).toBe(1);
    expect(pointOf(closed, 'room', 'temperature').max).toBe(20);
    const [next] = agg.close(T0 + 2 * W);
    expect(pointOf(next, 'room', 'temperature')).toMatchObject({ count: 1, last: 21 });
  });

  it('a window without readings that close() passed is final too: its readings are late', () => {
    const agg = aggregator();
    agg.close(T0 + 2 * W);
    agg.add([temp(T0 + W + 1000, 20)]);
    expect(agg.stats().late).toBe(1);
    expect(agg.stats().openWindows).toBe(0);
  });

  it(`keeps at most ${MAX_OPEN_WINDOWS} open windows and counts readings beyond them as ahead`, () => {
    const agg = aggregator();
    agg.add([0, 1, 2, 3, 4].map((i) => temp(T0 + i * W, 20)));
    expect(agg.stats()).toMatchObject({ openWindows: MAX_OPEN_WINDOWS, ahead: 2 });
    // After close(), the horizon is the current window and the next two.
    const agg2 = aggregator();
    agg2.close(T0);
    agg2.add([temp(T0 + 3 * W - 1, 20), temp(T0 + 3 * W, 20), temp(T0 + 100 * W, 20)]);
    expect(agg2.stats()).toMatchObject({ openWindows: 1, ahead: 2 });
  });

  it('close() discards a window far ahead that was opened before the first close (device clock wrong)', () => {
    const agg = aggregator();
    agg.add([temp(T0 + 1000 * W, 20), temp(T0 + 1000 * W + 1, 20), temp(T0 + 1000, 21)]);
    const summaries = agg.close(T0 + W);
    expect(summaries.map((s) => s.start)).toEqual([T0]);
    expect(agg.stats()).toMatchObject({ openWindows: 0, ahead: 2 });
  });

  it('every reading is accounted for exactly once, and open windows stay bounded', () => {
    const eventArb = fc.oneof(
      fc.record({
        kind: fc.constant('add' as const),
        readings: fc.array(readingArb, { maxLength: 20 }),
        shift: fc.integer({ min: 0, max: 10 * W }),
      }),
      fc.record({ kind: fc.constant('close' as const), advance: fc.integer({ min: 0, max: 2 * W }) }),
    );
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        const agg = aggregator();
        let now = T0;
        let total = 0;
        const summaries: WindowSummary[] = [];
        for (const event of events) {
          if (event.kind === 'close') {
            now += event.advance;
            summaries.push(...agg.close(now));
          } else {
            const readings = event.readings.map((g) => ({ ...toReading(g), ts: T0 + g.offset + event.shift }));
            total += readings.length;
            agg.add(readings);
          }
          expect(agg.stats().openWindows).toBeLessThanOrEqual(MAX_OPEN_WINDOWS);
        }
        summaries.push(...agg.flushAll(now));
        const inSummaries = summaries
          .flatMap((s) => s.points)
          .reduce((sum, p) => sum + p.count + Object.values(p.bad).reduce((a, b) => a + (b ?? 0), 0), 0);
        const { late, ahead } = agg.stats();
        expect(inSummaries + late + ahead).toBe(total);
      }),
    );
  });
});

describe('Aggregator shutdown and ids', () => {
  it('flushAll closes finished windows normally and the running one as partial, with scaled expected counts', () => {
    const agg = aggregator({ expectedPerWindow: () => 90 }); // a 10 s poll
    agg.add([temp(T0 + 1000, 20), temp(T0 + W + 60_000, 21), temp(T0 + W + 120_000, 22)]);
    const [complete, partial] = agg.flushAll(T0 + W + 5 * MIN);
    expect(complete).toMatchObject({ id: `mairie:gw1:${T0}`, start: T0, end: T0 + W });
    expect(pointOf(complete, 'room', 'temperature').expected).toBe(90);
    expect(partial).toMatchObject({ id: `mairie:gw1:${T0 + W}:${T0 + W + 5 * MIN}`, start: T0 + W, end: T0 + W + 5 * MIN });
    expect(pointOf(partial, 'room', 'temperature')).toMatchObject({ count: 2, expected: 30, last: 22 });
    expect(agg.stats().openWindows).toBe(0);
  });

  it('after flushAll, the rest of the window gets its own summary with the plain id', () => {
    const agg = aggregator();
    agg.add([temp(T0 + 1000, 20)]);
    const [partial] = agg.flushAll(T0 + 5 * MIN);
    agg.add([temp(T0 + 2000, 99), temp(T0 + 6 * MIN, 21)]);
    expect(agg.stats().late).toBe(1);
    const [rest] = agg.close(T0 + W);
    expect(rest!.id).toBe(`mairie:gw1:${T0}`);
    expect(rest!.id).not.toBe(partial!.id);
    expect(pointOf(rest, 'room', 'temperature')).toMatchObject({ count: 1, last: 21 });
  });

  it('a partial window covers at least its latest reading', () => {
    const agg = aggregator();
    agg.add([temp(T0 + 7 * MIN, 20)]);
    const [partial] = agg.flushAll(T0 + 5 * MIN);
    expect(partial!.end).toBe(T0 + 7 * MIN + 1);
  });

  it('ids are deterministic: the same readings give the same summaries however they are delivered', () => {
    fc.assert(
      fc.property(fc.array(readingArb, { minLength: 1, maxLength: 50 }), fc.integer({ min: 1, max: 10 }), (generated, chunk) => {
        const readings = generated.map(toReading);
        const once = aggregator();
        once.add(readings);
        const chunked = aggregator();
        for (let i = 0; i < readings.length; i += chunk) chunked.add(readings.slice(i, i + chunk));
        const a = once.close(T0 + 3 * W);
        expect(chunked.close(T0 + 3 * W)).toEqual(a);
        for (const s of a) expect(s.id).toBe(`mairie:gw1:${s.start}`);
      }),
    );
  });

  it('refuses an invalid window, an unknown zone and a point configured twice', () => {
    expect(() => aggregator({ windowMs: 7 * MIN })).toThrow(expect.objectContaining({ code: 'E_WINDOW' }));
    expect(() => aggregator({ timeZone: 'Mars/Olympus' })).toThrow(expect.objectContaining({ code: 'E_TIMEZONE' }));
    expect(() => aggregator({ points: [POINTS[0]!, POINTS[0]!] })).toThrow(expect.objectContaining({ code: 'E_POINT_DUPLICATE' }));
  });
});
