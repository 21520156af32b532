/** fast-check generators for window summaries and policies, with ids as the config schema allows them. */
import fc from 'fast-check';
import { policySchema, type PolicyConfig } from '../../src/config/schema.js';
import { DATA_CLASSES, STATISTICS, type BadReason, type PointSummary, type WindowSummary } from '../../src/core/types.js';
import { SENML_UNITS } from '../../src/profiles/schema.js';

export const BAD_REASONS: readonly BadReason[] = [
  'timeout', 'exception', 'crc', 'frame', 'checksum', 'decode', 'range', 'rate', 'stuck', 'stale', 'no-sensor', 'clock',
];

export const configId = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,15}$/);
const pointName = fc.stringMatching(/^[a-z0-9_]{1,12}$/);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

export const pointSummaryArb: fc.Arbitrary<PointSummary> = fc.record(
  {
    device: configId,
    point: pointName,
    unit: fc.constantFrom(...SENML_UNITS),
    dataClass: fc.constantFrom(...DATA_CLASSES),
    measure: fc.constantFrom('gauge' as const, 'counter' as const),
    count: fc.nat(100_000),
    expected: fc.nat(100_000),
    min: finite,
    max: finite,
    mean: finite,
    // Text points (TIC tariff period) carry a string; well-formed Unicode as drivers produce it.
    last: fc.oneof(finite, fc.string({ unit: 'grapheme', maxLength: 20 })),
    delta: finite,
    bad: fc.dictionary(fc.constantFrom(...BAD_REASONS), fc.nat(10_000)),
  },
  { requiredKeys: ['device', 'point', 'dataClass', 'measure', 'count', 'expected', 'bad'] },
);

export const summaryArb = (maxPoints = 12): fc.Arbitrary<WindowSummary> =>
  fc
    .record({
      site: configId,
      gateway: configId,
      start: fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
      length: fc.constantFrom(60_000, 300_000, 900_000),
      points: fc.uniqueArray(pointSummaryArb, { maxLength: maxPoints, selector: (p) => `${p.device}.${p.point}` }),
      drops: fc.option(fc.record({ raw: fc.nat(10_000), summaries: fc.nat(100) }), { nil: undefined }),
    })
    .map(({ site, gateway, start, length, points, drops }) => ({
      ...(drops && { drops }),
      id: `${site}:${gateway}:${start}`,
      site,
      gateway,
      start,
      end: start + length,
      points,
    }));

/** Rules that often match the summary's own points (exact keys, device.*, *.point, *) and sometimes nothing. */
export const policyFor = (summary: WindowSummary): fc.Arbitrary<PolicyConfig> => {
  const keys = summary.points.flatMap((p) => [`${p.device}.${p.point}`, `${p.device}.*`, `*.${p.point}`]);
  const match = fc.oneof(fc.constant('*'), configId, ...(keys.length > 0 ? [fc.constantFrom(...keys)] : []));
  const rule = fc.record({ match, statistics: fc.uniqueArray(fc.constantFrom(...STATISTICS), { minLength: 1 }) });
  return fc
    .record({
      allow: fc.array(rule, { maxLength: 5 }),
      minCount: fc.dictionary(fc.constantFrom(...DATA_CLASSES), fc.nat(200)),
    })
    .map((p) => policySchema.parse(p));
};

export const summaryAndPolicyArb = summaryArb().chain((summary) => policyFor(summary).map((policy) => ({ summary, policy })));
