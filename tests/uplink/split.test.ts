import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/config/schema.js';
import { STATISTICS, type PointSummary, type WindowSummary } from '../../src/core/types.js';
import { buildOutboxMessages, buildWindowMessages, summaryTopic } from '../../src/uplink/mqtt-uplink.js';
import { decodeSenml, encodeSummary, summaryToSenml, type SenmlFormat, type SenmlRecord } from '../../src/uplink/senml.js';
import { summaryArb } from './arbitraries.js';

const FORMATS: SenmlFormat[] = ['senml-json', 'senml-cbor'];

const manyPoints = (n: number): WindowSummary => ({
  id: 'site-a:gw-1:1700000000000',
  site: 'site-a',
  gateway: 'gw-1',
  start: 1_700_000_000_000,
  end: 1_700_000_300_000,
  points: Array.from({ length: n }, (_, i): PointSummary => ({
    device: `room-${i}`, point: 'temperature', unit: 'Cel', dataClass: 'comfort', measure: 'gauge',
    count: 30, expected: 30, min: 19 + i / 100, max: 22.5, mean: 21.125, last: 21, bad: { timeout: 1 },
  })),
});

const pointOf = (r: SenmlRecord): string | undefined => r.n?.split('/').slice(0, 2).join('/');

describe.each(FORMATS)('encodeSummary (%s)', (format) => {
  it('sends a window that fits as one message under the summary id', () => {
    const parts = encodeSummary(manyPoints(3), format);
    expect(parts.map((p) => p.id)).toEqual(['site-a:gw-1:1700000000000']);
    expect(decodeSenml(parts[0]!.payload, format)).toEqual(summaryToSenml(manyPoints(3)));
  });

  it('splits a large window into bounded, self-describing parts without splitting a point', () => {
    fc.assert(
      fc.property(summaryArb(40), fc.integer({ min: 300, max: 3000 }), (summary, maxBytes) => {
        let parts;
        try {
          parts = encodeSummary(summary, format, maxBytes);
        } catch (e) {
          // Only acceptable when one point alone cannot fit the bound.
          expect(e).toMatchObject({ code: 'E_SENML_TOO_LARGE' });
          return;
        }
        const whole = summaryToSenml(summary);
        const decoded = parts.map((p) => decodeSenml(p.payload, format));
        parts.forEach((part, i) => {
          expect(part.payload.length).toBeLessThanOrEqual(maxBytes);
          const [head, start] = decoded[i]!;
          const id = parts.length === 1 ? summary.id : `${summary.id}#${i + 1}`;
          expect(part.id).toBe(id);
          expect(head).toEqual({ ...whole[0], vs: id });
          expect(start).toEqual(whole[1]);
        });
        const bodies = decoded.map((records) => records.slice(2));
        expect(bodies.flat()).toEqual(whole.slice(2));
        const partOfPoint = new Map<string, number>();
        bodies.forEach((records, i) => {
          for (const r of records) {
            const key = pointOf(r)!;
            expect(partOfPoint.get(key) ?? i).toBe(i);
            partOfPoint.set(key, i);
          }
        });
      }),
      { numRuns: 60 },
    );
  });

  it('splits 400 points into several parts within the 16 KiB default', () => {
    const parts = encodeSummary(manyPoints(400), format);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) expect(p.payload.length).toBeLessThanOrEqual(16 * 1024);
    expect(parts.map((p) => p.id)).toEqual(parts.map((_, i) => `site-a:gw-1:1700000000000#${i + 1}`));
  });

  it('fails with E_SENML_TOO_LARGE when one point cannot fit the bound', () => {
    expect(() => encodeSummary(manyPoints(2), format, 150)).toThrow(expect.objectContaining({ code: 'E_SENML_TOO_LARGE' }));
  });
});

describe('buildOutboxMessages', () => {
  const policy = policySchema.parse({ allow: [{ match: 'room-1.*', statistics: ['mean'] }], minCount: {} });
  const topic = summaryTopic('passerelle', 'site-a', 'gw-1');

  it('applies the policy, encodes and addresses the messages of a window', () => {
    const messages = buildOutboxMessages(manyPoints(3), policy, 'senml-json', topic);
    expect(messages).toHaveLength(1);
    const [m] = messages;
    expect(m).toMatchObject({ id: 'site-a:gw-1:1700000000000', topic: 'passerelle/site-a/gw-1/summary', createdAt: 1_700_000_300_000 });
    const names = decodeSenml(m!.payload, 'senml-json').map((r) => r.n);
    expect(names).toContain('room-1/temperature/mean');
    expect(names.some((n) => n?.startsWith('room-0/') || n?.endsWith('/min'))).toBe(false);
  });

  it('gives split parts distinct deterministic ids sharing the window time', () => {
    const all = policySchema.parse({ allow: [{ match: '*', statistics: ['min', 'max', 'mean', 'last'] }], minCount: {} });
    const first = buildOutboxMessages(manyPoints(60), all, 'senml-cbor', topic, 1024);
    const again = buildOutboxMessages(manyPoints(60), all, 'senml-cbor', topic, 1024);
    expect(first.length).toBeGreaterThan(1);
    expect(new Set(first.map((m) => m.id)).size).toBe(first.length);
    expect(again).toEqual(first);
    for (const m of first) expect(m.createdAt).toBe(1_700_000_300_000);
  });

  it('yields nothing when the policy lets no point out', () => {
    expect(buildOutboxMessages(manyPoints(3), policySchema.parse({ allow: [] }), 'senml-json', topic)).toEqual([]);
  });
});

describe('drops in summaries', () => {
  const topic = summaryTopic('passerelle', 'site-a', 'gw-1');
  const nothingAllowed = policySchema.parse({ allow: [], minCount: {}, health: ['drops'] });

  it('reports local drops once, in the first part, even when the policy lets no point out', () => {
    const dropped = { ...manyPoints(60), drops: { raw: 1200, summaries: 3 } };
    const [only] = buildOutboxMessages(dropped, nothingAllowed, 'senml-json', topic);
    expect(decodeSenml(only!.payload, 'senml-json').slice(2)).toEqual([{ n: 'drops/raw', v: 1200 }, { n: 'drops/summaries', v: 3 }]);
    const all = policySchema.parse({ allow: [{ match: '*', statistics: ['mean'] }], minCount: {}, health: ['drops'] });
    const parts = buildOutboxMessages(dropped, all, 'senml-cbor', topic, 1024).map((m) => decodeSenml(m.payload, 'senml-cbor'));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((records) => records.filter((r) => r.n?.startsWith('drops/')).length)).toEqual(parts.map((_, i) => (i === 0 ? 2 : 0)));
  });

  // Issue 16, low: drop counters left even under an empty policy.
  it('keeps drops local unless policy.health lists drops', () => {
    const dropped = { ...manyPoints(3), drops: { raw: 1200, summaries: 3, points: 1 } };
    expect(buildOutboxMessages(dropped, policySchema.parse({ allow: [] }), 'senml-json', topic)).toEqual([]);
    const meanOnly = policySchema.parse({ allow: [{ match: '*', statistics: ['mean'] }], health: ['buses', 'store', 'clock'] });
    const names = buildOutboxMessages(dropped, meanOnly, 'senml-json', topic).flatMap((m) => decodeSenml(m.payload, 'senml-json').map((r) => r.n));
    expect(names).toContain('room-0/temperature/mean');
    expect(names.filter((n) => n?.startsWith('drops/'))).toEqual([]);
  });

  it('says nothing about drops when there were none', () => {
    expect(buildOutboxMessages({ ...manyPoints(3), drops: { raw: 0, summaries: 0 } }, nothingAllowed, 'senml-json', topic)).toEqual([]);
  });
});

// Issue 16, low: one point over maxMessageBytes threw from the window-closing timer and stopped the gateway.
describe('points too large for one message', () => {
  const topic = summaryTopic('passerelle', 'site-a', 'gw-1');
  const all = policySchema.parse({ allow: [{ match: '*', statistics: [...STATISTICS] }], health: ['drops'] });
  const longId = `d${'x'.repeat(62)}`;
  const everyReason = Object.fromEntries(['timeout', 'exception', 'crc', 'frame', 'checksum', 'decode', 'range', 'rate', 'stuck', 'stale', 'no-sensor', 'clock'].map((r) => [r, 1]));

  it.each(FORMATS)('cuts a 1500-character text value and leaves out a point with long ids and many bad reasons, counting both (%s)', (format) => {
    const window = manyPoints(3);
    const text: PointSummary = { device: 'linky', point: 'msg1', dataClass: 'status', measure: 'gauge', count: 10, expected: 10, last: 'M'.repeat(1500), bad: {} };
    const noisy: PointSummary = { device: longId, point: `p${'y'.repeat(60)}`, dataClass: 'status', measure: 'gauge', count: 1, expected: 30, min: 1, max: 2, mean: 1.5, last: 2, bad: everyReason };
    const built = buildWindowMessages({ ...window, points: [...window.points, text, noisy] }, all, format, topic, 1024);
    expect(built.pointsCut).toBe(2);
    const records = built.messages.flatMap((m) => decodeSenml(m.payload, format));
    for (const m of built.messages) expect(m.payload.length).toBeLessThanOrEqual(1024);
    const names = records.map((r) => r.n);
    expect(names).toEqual(expect.arrayContaining(['room-0/temperature/mean', 'room-2/temperature/last', 'linky/msg1/count']));
    expect(names).not.toContain('linky/msg1/last');
    expect(names.some((n) => n?.startsWith(longId))).toBe(false);
    expect(records.find((r) => r.n === 'drops/points')?.v).toBe(2);
  });

  it('cuts the point all the same but keeps the count local when policy.health does not list drops', () => {
    const text: PointSummary = { device: 'linky', point: 'msg1', dataClass: 'status', measure: 'gauge', count: 10, expected: 10, last: 'M'.repeat(1500), bad: {} };
    const noHealth = policySchema.parse({ allow: [{ match: '*', statistics: ['last'] }] });
    const built = buildWindowMessages({ ...manyPoints(1), points: [text] }, noHealth, 'senml-json', topic, 1024);
    expect(built.pointsCut).toBe(1);
    const names = built.messages.flatMap((m) => decodeSenml(m.payload, 'senml-json').map((r) => r.n));
    expect(names).toContain('linky/msg1/count');
    expect(names.filter((n) => n?.startsWith('drops/'))).toEqual([]);
  });

  it('never throws and never exceeds the bound, whatever the window (bounds the schema allows)', () => {
    fc.assert(
      fc.property(summaryArb(20), fc.integer({ min: 1024, max: 4096 }), fc.constantFrom(...FORMATS), (summary, maxBytes, format) => {
        const { messages } = buildWindowMessages(summary, all, format, topic, maxBytes);
        for (const m of messages) expect(m.payload.length).toBeLessThanOrEqual(maxBytes);
      }),
      { numRuns: 60 },
    );
  });
});
