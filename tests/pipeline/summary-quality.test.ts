/**
 * Checker -> aggregator -> SenML: a window summary carries count, expected, completeness and the bad
 * readings by reason (range, rate, stuck, stale), as the gateway wires them.
 */
import { describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { QualityChecker } from '../../src/pipeline/quality.js';
import { summaryToSenml } from '../../src/uplink/senml-build.js';
import type { Reading, WindowSummary } from '../../src/core/types.js';

const MIN = 60_000;
const W = 15 * MIN;
const T0 = Date.parse('2026-01-15T10:00:00Z');

describe('quality in window summaries', () => {
  it('counts good readings against expected, and bad ones by reason', () => {
    const checker = new QualityChecker([
      { device: 'room', point: 'temperature', range: [-20, 60], maxRatePerMinute: 1, stuckAfter: 5, staleAfterMs: 3 * MIN },
    ]);
    const agg = new Aggregator({
      site: 'mairie', gateway: 'gw1', windowMs: W, timeZone: 'Europe/Paris', expectedPerWindow: () => 15, // a 1-minute poll
      points: [{ device: 'room', point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge', range: [-20, 60] }],
    });
    // minute -> value: 99 is out of range, 35 too fast, 21.3 five times is stuck at the fifth; then silence
    const values = new Map([[0, 20], [1, 20.5], [2, 21], [3, 99], [4, 21.2], [5, 35], [6, 21.3], [7, 21.3], [8, 21.3], [9, 21.3], [10, 21.3]]);
    const summaries: WindowSummary[] = [];
    for (let now = T0; now <= T0 + W; now += 10_000) {
      const minute = (now - T0) / MIN;
      const value = values.get(minute);
      if (value !== undefined) {
        const r: Reading = { device: 'room', point: 'temperature', ts: now, value, quality: 'good' };
        agg.add([checker.check(r)]);
      }
      agg.add(checker.sweep(now));
      summaries.push(...agg.close(now));
    }
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.points[0]).toMatchObject({ count: 8, expected: 15, bad: { range: 1, rate: 1, stuck: 1, stale: 1 } });

    const senml = Object.fromEntries(summaryToSenml(summaries[0]!).map((r) => [r.n, r.v]));
    expect(senml).toMatchObject({
      'room/temperature/count': 8,
      'room/temperature/bad.range': 1,
      'room/temperature/bad.rate': 1,
      'room/temperature/bad.stuck': 1,
      'room/temperature/bad.stale': 1,
    });
    expect(senml['room/temperature/completeness']).toBeCloseTo(8 / 15, 4); // a ratio, unit "/" (senml-build.ts)
  });
});
