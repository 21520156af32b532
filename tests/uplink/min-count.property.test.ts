/**
 * Issue 16.2, as an attacker: `minCount` must hold against every combination of what leaves, not
 * statistic by statistic. The attacker sees every message of several windows (summaries, split or
 * not, and health) and knows the gateway's code. He enumerates every reading history of the same shape
 * (same timestamps: more knowledge than he has) that would have produced exactly the same bytes. A
 * hidden value is recovered when all those histories agree on it. A threshold of at least 2 is used:
 * under a threshold of 1 the absence of values itself says "0".
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policySchema, type PolicyConfig } from '../../src/config/schema.js';
import { STATISTICS, type Measure, type PointInfo, type Reading } from '../../src/core/types.js';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { buildHealthMessages } from '../../src/uplink/health.js';
import { buildOutboxMessages } from '../../src/uplink/outbox-messages.js';

const WINDOW_MS = 60_000;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const PEOPLE: PointInfo = { device: 'room-12', point: 'people', dataClass: 'occupancy', measure: 'gauge' };
const ENTRIES: PointInfo = { device: 'door-1', point: 'entries', dataClass: 'occupancy', measure: 'counter' };
const TEMPERATURE: PointInfo = { device: 'room-12', point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge' };

interface Scenario {
  readonly measure: Measure;
  /** Readings per window (the attacker sees these counts anyway). */
  readonly shape: readonly number[];
  readonly threshold: number;
  readonly policy: PolicyConfig;
  readonly maxBytes: number;
}

/** Everything that leaves for one history: the bytes of every message, in order. */
function published(s: Scenario, values: readonly number[]): string[] {
  const info = s.measure === 'gauge' ? PEOPLE : ENTRIES;
  const aggregator = new Aggregator({ site: 'ecole', gateway: 'gw-1', windowMs: WINDOW_MS, timeZone: 'UTC', points: [info, TEMPERATURE], expectedPerWindow: () => 4 });
  const readings: Reading[] = [];
  let i = 0;
  s.shape.forEach((n, w) => {
    for (let k = 0; k < n; k++) {
      const ts = T0 + w * WINDOW_MS + (k + 1) * 10_000;
      readings.push({ device: info.device, point: info.point, ts, value: values[i++]!, quality: 'good' });
      readings.push({ device: TEMPERATURE.device, point: TEMPERATURE.point, ts, value: 20.5, quality: 'good' });
    }
  });
  aggregator.add(readings);
  const out: string[] = [];
  for (const summary of aggregator.close(T0 + s.shape.length * WINDOW_MS)) {
    for (const m of buildOutboxMessages(summary, s.policy, 'senml-json', 't/summary', s.maxBytes)) out.push(`${m.id} ${m.payload.toString()}`);
    const health = { site: 'ecole', gateway: 'gw-1', start: summary.start, end: summary.end, buses: {}, storeBytes: 4096, outboxPending: 1, drops: { raw: 0, summaries: 0 }, clockSynced: true };
    for (const m of buildHealthMessages(health, s.policy, 'senml-json', 't/health')) out.push(m.payload.toString());
  }
  return out;
}

/** Every history of `length` values from `domain` (gauge: the readings; counter: the steps from index 1000). */
function* histories(length: number, domain: number): Generator<number[]> {
  const digits = new Array<number>(length).fill(0);
  for (;;) {
    yield digits.slice();
    let d = 0;
    while (d < length && ++digits[d]! === domain) digits[d++] = 0;
    if (d === length) return;
  }
}

const GAUGE_DOMAIN = 8; // readings 0..7
const STEP_DOMAIN = 5; // counter steps 0..4

/** The values the attacker tries to learn, per window: for a gauge the readings (as a sorted list), for a counter the window's consumption. */
function secrets(s: Scenario, values: readonly number[]): { window: number; value: number }[] {
  const out: { window: number; value: number }[] = [];
  let i = 0;
  s.shape.forEach((n, w) => {
    const mine = values.slice(i, i + n);
    i += n;
    if (s.measure === 'gauge') for (const v of mine) out.push({ window: w, value: v });
    // A counter's window consumption: the steps from the previous reading (the window before included).
    else if (w > 0 || n > 1) out.push({ window: w, value: mine.slice(w === 0 ? 1 : 0).reduce((a, b) => a + b, 0) });
  });
  return out;
}

const counterIndexes = (steps: readonly number[]): number[] => {
  let index = 1000;
  return steps.map((step, i) => (i === 0 ? index : (index += step)));
};

function attackerRecovers(s: Scenario, truth: readonly number[]): string | undefined {
  const toReadings = (h: readonly number[]): number[] => (s.measure === 'gauge' ? [...h] : counterIndexes(h));
  const seen = JSON.stringify(published(s, toReadings(truth)));
  const hidden = secrets(s, truth).filter((x) => x.value < s.threshold);
  if (hidden.length === 0) return undefined;
  // For each hidden (window, value): does every consistent history contain it?
  const alwaysThere = hidden.map(() => true);
  const total = s.shape.reduce((a, b) => a + b, 0);
  for (const h of histories(total, s.measure === 'gauge' ? GAUGE_DOMAIN : STEP_DOMAIN)) {
    if (JSON.stringify(published(s, toReadings(h))) !== seen) continue;
    const theirs = secrets(s, h);
    hidden.forEach((x, k) => {
      if (alwaysThere[k] && !theirs.some((y) => y.window === x.window && y.value === x.value)) alwaysThere[k] = false;
    });
    if (!alwaysThere.includes(true)) return undefined;
  }
  const k = alwaysThere.indexOf(true);
  return `window ${hidden[k]!.window}: ${hidden[k]!.value} recovered from ${seen}`;
}

const scenarioArb = (measure: Measure, maxTotal: number): fc.Arbitrary<{ s: Scenario; truth: number[] }> =>
  fc
    .record({
      shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }).filter((sh) => sh.reduce((a, b) => a + b, 0) <= maxTotal),
      threshold: fc.integer({ min: 2, max: 5 }),
      statistics: fc.subarray([...STATISTICS], { minLength: 1 }),
      maxBytes: fc.constantFrom(1024, 16_384),
    })
    .chain(({ shape, threshold, statistics, maxBytes }) => {
      const policy = policySchema.parse({
        allow: [{ match: '*', statistics }],
        minCount: { occupancy: threshold },
        health: ['buses', 'store', 'drops', 'clock'],
      });
      const total = shape.reduce((a, b) => a + b, 0);
      const domain = measure === 'gauge' ? GAUGE_DOMAIN : STEP_DOMAIN;
      return fc.array(fc.integer({ min: 0, max: domain - 1 }), { minLength: total, maxLength: total }).map((truth) => ({
        s: { measure, shape, threshold, policy, maxBytes },
        truth,
      }));
    });

const everything = (threshold: number): PolicyConfig =>
  policySchema.parse({ allow: [{ match: '*', statistics: [...STATISTICS] }], minCount: { occupancy: threshold } });

describe('minCount against an attacker who combines everything that leaves', () => {
  it('reproduces the issue: readings 1 and 6 under 5 (count × mean − max), a counter 1000 -> 1002 (max − min)', () => {
    expect(attackerRecovers({ measure: 'gauge', shape: [2], threshold: 5, policy: everything(5), maxBytes: 16_384 }, [1, 6])).toBeUndefined();
    expect(attackerRecovers({ measure: 'counter', shape: [2], threshold: 5, policy: everything(5), maxBytes: 16_384 }, [0, 2])).toBeUndefined();
    // Across windows: a counter's index differences would give a hidden window's consumption back.
    expect(attackerRecovers({ measure: 'counter', shape: [1, 1, 1], threshold: 3, policy: everything(3), maxBytes: 16_384 }, [0, 4, 2])).toBeUndefined();
  });

  it('never lets a gauge reading under the threshold be recovered, whatever statistics are allowed', () => {
    fc.assert(
      fc.property(scenarioArb('gauge', 4), ({ s, truth }) => {
        expect(attackerRecovers(s, truth)).toBeUndefined();
      }),
      { numRuns: 40 },
    );
  });

  it("never lets a counter's consumption under the threshold be recovered, in one window or across windows", () => {
    fc.assert(
      fc.property(scenarioArb('counter', 5), ({ s, truth }) => {
        expect(attackerRecovers(s, truth)).toBeUndefined();
      }),
      { numRuns: 40 },
    );
  });

  it('still sends the values of a window whose readings all reach the threshold', () => {
    const out = published({ measure: 'gauge', shape: [2], threshold: 5, policy: everything(5), maxBytes: 16_384 }, [5, 9]).join('\n');
    expect(out).toContain('"n":"room-12/people/min","v":5');
    expect(out).toContain('"n":"room-12/people/mean","v":7');
    const counter = published({ measure: 'counter', shape: [3], threshold: 5, policy: everything(5), maxBytes: 16_384 }, counterIndexes([0, 3, 4])).join('\n');
    expect(counter).toContain('"n":"door-1/entries/delta","v":7');
    expect(counter).not.toContain('door-1/entries/last');
  });
});
