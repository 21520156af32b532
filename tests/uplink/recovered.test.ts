/** The marking of a window rebuilt after a crash: with the window's points, or alone under policy.health [drops]; first part only. */
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/config/schema.js';
import type { PointSummary, WindowSummary } from '../../src/core/types.js';
import { buildOutboxMessages } from '../../src/uplink/outbox-messages.js';
import { decodeSenml, resolveSenml } from '../../src/uplink/senml.js';

const point = (n: number): PointSummary => ({ device: 'meter', point: `p${n}`, dataClass: 'energy', measure: 'gauge', count: 10, expected: 20, mean: n, bad: {} });
const summary = (recovered: WindowSummary['recovered'], points = 1): WindowSummary => ({
  id: 's:g:1800000000000',
  site: 's',
  gateway: 'g',
  start: 1_800_000_000_000,
  end: 1_800_000_060_000,
  points: Array.from({ length: points }, (_, i) => point(i)),
  ...(recovered && { recovered }),
});
const names = (payload: Buffer) => new Map(resolveSenml(decodeSenml(payload, 'senml-json')).map((r) => [r.n.replace('urn:dev:passerelle:s:g:', ''), r]));
const allowAll = policySchema.parse({ allow: [{ match: 'meter.*', statistics: ['mean'] }] });
const allowNothing = policySchema.parse({ allow: [] });
const healthDropsOnly = policySchema.parse({ allow: [], health: ['drops'] });

describe('a recovered window upstream', () => {
  it('carries recovered/lost and its gap in seconds', () => {
    const [message] = buildOutboxMessages(summary({ lost: 42, gapStart: 1_800_000_012_345, gapEnd: 1_800_000_030_000 }), allowAll, 'senml-json', 't');
    const records = names(message!.payload);
    expect(records.get('recovered/lost')?.v).toBe(42);
    expect(records.get('recovered/gap-start')).toMatchObject({ v: 1_800_000_012.345, u: 's' });
    expect(records.get('recovered/gap-end')).toMatchObject({ v: 1_800_000_030, u: 's' });
    expect(names(buildOutboxMessages(summary(undefined), allowAll, 'senml-json', 't')[0]!.payload).has('recovered/lost')).toBe(false);
  });

  it('goes up alone, when the policy lets no point out, only as a health figure (policy.health: [drops])', () => {
    const gap = summary({ lost: 3, gapStart: 1_800_000_050_000, gapEnd: 1_800_000_060_000 });
    expect(buildOutboxMessages(gap, healthDropsOnly, 'senml-json', 't')).toHaveLength(1);
    expect(buildOutboxMessages(gap, allowNothing, 'senml-json', 't')).toHaveLength(0);
    expect(buildOutboxMessages(summary({ lost: 0 }), healthDropsOnly, 'senml-json', 't')).toHaveLength(0);
  });

  it('is in the first part of a split window only', () => {
    const parts = buildOutboxMessages(summary({ lost: 7, gapStart: 1_800_000_050_000, gapEnd: 1_800_000_060_000 }, 60), allowAll, 'senml-json', 't', 1024);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.map((p) => names(p.payload).has('recovered/lost'))).toEqual(parts.map((_, i) => i === 0));
  });
});
