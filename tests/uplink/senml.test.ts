import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WindowSummary } from '../../src/core/types.js';
import {
  decodeSenml,
  encodeSenml,
  isValidSenmlName,
  resolveSenml,
  summaryToSenml,
  type ResolvedSenmlRecord,
  type SenmlFormat,
} from '../../src/uplink/senml.js';
import { summaryArb } from './arbitraries.js';

const FORMATS: SenmlFormat[] = ['senml-json', 'senml-cbor'];

const example: WindowSummary = {
  id: 'site-a:gw-1:1700000000000',
  site: 'site-a',
  gateway: 'gw-1',
  start: 1_700_000_000_000,
  end: 1_700_000_300_000,
  points: [
    {
      device: 'meter-main', point: 'energy', unit: 'kWh', dataClass: 'energy', measure: 'counter',
      count: 29, expected: 30, last: 1234.5, delta: 12.25, bad: { timeout: 1 },
    },
    {
      device: 'tic', point: 'ptec', dataClass: 'status', measure: 'gauge',
      count: 10, expected: 0, last: 'HC..', bad: {},
    },
  ],
};

describe('summaryToSenml', () => {
  it('lays a window out as header records then per-point statistics and quality', () => {
    expect(summaryToSenml(example)).toEqual([
      // kWh is a secondary unit: the pack announces the feature (RFC 9100), version 42.
      { bn: 'urn:dev:passerelle:site-a:gw-1:', bt: 1_700_000_300, bver: 42, n: 'msg-id', vs: 'site-a:gw-1:1700000000000' },
      { n: 'window-start', v: 1_700_000_000, u: 's' },
      { n: 'meter-main/energy/count', v: 29 },
      { n: 'meter-main/energy/last', u: 'kWh', v: 1234.5 },
      { n: 'meter-main/energy/delta', u: 'kWh', v: 12.25 },
      { n: 'meter-main/energy/completeness', u: '/', v: 0.9667 },
      { n: 'meter-main/energy/bad.timeout', v: 1 },
      { n: 'tic/ptec/count', v: 10 },
      { n: 'tic/ptec/last', vs: 'HC..' },
    ]);
  });

  it('announces secondary units in bver only when a value in one is sent', () => {
    const primaryOnly = { ...example, points: [{ ...example.points[0]!, unit: 'J' }] };
    expect(summaryToSenml(primaryOnly)[0]!.bver).toBeUndefined();
    const noValues = { ...example, points: [{ ...example.points[0]!, last: undefined, delta: undefined }] };
    expect(summaryToSenml(noValues)[0]!.bver).toBeUndefined();
    expect(summaryToSenml(example)[0]!.bver).toBe(42);
  });

  it('refuses ids that cannot form a SenML name', () => {
    const bad = { ...example, points: [{ ...example.points[0]!, point: 'énergie' }] };
    expect(() => summaryToSenml(bad)).toThrow(expect.objectContaining({ code: 'E_SENML_NAME' }));
  });

  it('gives every record a valid, unique name and the window end as time', () => {
    fc.assert(
      fc.property(summaryArb(), (summary) => {
        const resolved = resolveSenml(summaryToSenml(summary));
        for (const r of resolved) {
          expect(isValidSenmlName(r.n)).toBe(true);
          expect(r.t).toBe(summary.end / 1000);
        }
        expect(new Set(resolved.map((r) => r.n)).size).toBe(resolved.length);
      }),
    );
  });
});

/** What a generic reader recovers: full name -> resolved record. */
const byName = (records: ResolvedSenmlRecord[]): Map<string, ResolvedSenmlRecord> => new Map(records.map((r) => [r.n, r]));

describe.each(FORMATS)('%s', (format) => {
  it('round-trips any summary through encode and decode', () => {
    fc.assert(
      fc.property(summaryArb(), (summary) => {
        const records = summaryToSenml(summary);
        expect(decodeSenml(encodeSenml(records, format), format)).toEqual(records);
      }),
    );
  });

  it('lets a reader recover every figure of the summary from the resolved records', () => {
    fc.assert(
      fc.property(summaryArb(), (summary) => {
        const read = byName(resolveSenml(decodeSenml(encodeSenml(summaryToSenml(summary), format), format)));
        const base = `urn:dev:passerelle:${summary.site}:${summary.gateway}:`;
        expect(read.get(`${base}msg-id`)?.vs).toBe(summary.id);
        expect(read.get(`${base}window-start`)?.v).toBe(summary.start / 1000);
        for (const p of summary.points) {
          const at = (stat: string): ResolvedSenmlRecord | undefined => read.get(`${base}${p.device}/${p.point}/${stat}`);
          const { bver, ...count } = at('count')!;
          expect(count).toEqual({ n: expect.any(String), t: summary.end / 1000, v: p.count });
          expect([undefined, 42]).toContain(bver);
          // Statistics keep 7 significant digits (whole numbers exactly): relative error at most 5e-7.
          const sent = (v: number | undefined) => (v === undefined ? undefined : v === 0 ? 0 : v);
          const close = (got: number | undefined, want: number | undefined) => {
            if (want === undefined || Number.isInteger(want)) return expect(got).toBe(sent(want));
            expect(Math.abs(got! - want)).toBeLessThanOrEqual(Math.abs(want) * 5e-7);
          };
          for (const stat of ['min', 'max', 'mean', 'delta'] as const) {
            close(at(stat)?.v, p[stat]);
            if (p[stat] !== undefined) expect(at(stat)?.u).toBe(p.unit);
          }
          if (typeof p.last === 'string') expect(at('last')?.vs).toBe(p.last);
          else close(at('last')?.v, p.last);
          // A ratio rounded to 4 decimals: off by at most half a hundredth of a percent.
          if (p.expected > 0) expect(Math.abs(at('completeness')!.v! - p.count / p.expected)).toBeLessThanOrEqual(0.00005 + 1e-12);
          else expect(at('completeness')).toBeUndefined();
          for (const [reason, n] of Object.entries(p.bad)) expect(at(`bad.${reason}`)?.v).toBe(n > 0 ? n : undefined);
        }
      }),
    );
  });

  it('rejects garbage with E_SENML_DECODE and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const records = decodeSenml(Buffer.from(bytes), format);
          expect(Array.isArray(records)).toBe(true);
        } catch (e) {
          expect(e).toMatchObject({ code: 'E_SENML_DECODE' });
        }
      }),
    );
  });

  it('rejects must-understand fields and ignores unknown ones', () => {
    const json = (pack: unknown): Buffer => Buffer.from(JSON.stringify(pack));
    if (format === 'senml-json') {
      expect(decodeSenml(json([{ n: 'a', v: 1, foo: 2 }]), format)).toEqual([{ n: 'a', v: 1 }]);
      expect(() => decodeSenml(json([{ n: 'a', v: 1, foo_: 2 }]), format)).toThrow(/must-understand/);
      expect(() => decodeSenml(json([{ n: 'a', v: '1' }]), format)).toThrow(/"v" should be a number/);
      expect(() => decodeSenml(json({ n: 'a' }), format)).toThrow(/not a SenML array/);
    } else {
      const pack = encodeSenml([{ n: 'a', v: 1 }], format);
      expect(decodeSenml(pack, format)).toEqual([{ n: 'a', v: 1 }]);
    }
  });
});

describe('SenML CBOR', () => {
  it('uses the RFC 8428 integer labels as CBOR integer keys', () => {
    const buf = encodeSenml([{ bn: 'x:', bt: 2, n: 'a', v: 1.5, vs: 's', vb: true, u: 'W' }], 'senml-cbor');
    // 0x81: array(1); 0xa7: map(7); 0x21: negative integer -2 (bn); 0x62 'x:'; 0x22: -3 (bt); 0x02
    expect(buf.subarray(0, 7).toString('hex')).toBe('81a72162783a22');
    expect(buf.length).toBeLessThan(encodeSenml([{ bn: 'x:', bt: 2, n: 'a', v: 1.5, vs: 's', vb: true, u: 'W' }], 'senml-json').length);
  });

  it('carries data values as byte strings', () => {
    const records = [{ n: 'blob', vd: Buffer.from([0, 255, 1]).toString('base64url') }];
    const buf = encodeSenml(records, 'senml-cbor');
    expect(buf.includes(Buffer.from([0x43, 0, 255, 1]))).toBe(true); // bytes(3) 00 ff 01
    expect(decodeSenml(buf, 'senml-cbor')).toEqual(records);
  });
});

describe('resolveSenml', () => {
  it('applies base fields and relative times as RFC 8428 section 5.1.2 shows', () => {
    const pack = [
      { bn: 'urn:dev:ow:10e2073a0108006:', bt: 1.276020076001e9, bu: 'A', bver: 5, n: 'voltage', u: 'V', v: 120.1 },
      { n: 'current', t: -5, v: 1.2 },
      { n: 'current', t: -4, v: 1.3 },
    ];
    expect(resolveSenml(pack)).toEqual([
      { n: 'urn:dev:ow:10e2073a0108006:current', t: 1.276020071001e9, u: 'A', v: 1.2, bver: 5 },
      { n: 'urn:dev:ow:10e2073a0108006:current', t: 1.276020072001e9, u: 'A', v: 1.3, bver: 5 },
      { n: 'urn:dev:ow:10e2073a0108006:voltage', t: 1.276020076001e9, u: 'V', v: 120.1, bver: 5 },
    ]);
  });

  it('makes times below 2^28 relative to now, and adds base value and sum', () => {
    const resolved = resolveSenml([{ bn: 'dev:', bv: 10, bs: 1, n: 'a', v: 2 }, { n: 'b', t: -60 }], 1_700_000_000);
    expect(resolved).toEqual([
      { n: 'dev:b', t: 1_699_999_940, v: 10, s: 1 },
      { n: 'dev:a', t: 1_700_000_000, v: 12, s: 1 },
    ]);
  });

  it('rejects invalid names and versions it does not know', () => {
    expect(() => resolveSenml([{ bn: 'dev:', n: 'a b', v: 1 }])).toThrow(expect.objectContaining({ code: 'E_SENML_NAME' }));
    expect(() => resolveSenml([{ n: '-a', v: 1 }])).toThrow(expect.objectContaining({ code: 'E_SENML_NAME' }));
    expect(() => resolveSenml([{ bver: 11, n: 'a', v: 1 }])).toThrow(expect.objectContaining({ code: 'E_SENML_VERSION' }));
    // 10 + 2^6: a feature this reader does not know.
    expect(() => resolveSenml([{ bver: 74, n: 'a', v: 1 }])).toThrow(expect.objectContaining({ code: 'E_SENML_VERSION' }));
  });

  it('reads packs that announce secondary units (RFC 9100 feature 5)', () => {
    expect(resolveSenml([{ bn: 'dev:', bt: 1_700_000_000, bver: 42, n: 'e', u: 'kWh', v: 2 }])).toEqual([
      { n: 'dev:e', t: 1_700_000_000, u: 'kWh', v: 2, bver: 42 },
    ]);
  });
});

describe('value precision', () => {
  it('keeps 7 significant digits, and whole numbers exactly', async () => {
    const { toSensorPrecision } = await import('../../src/uplink/senml-build.js');
    expect(toSensorPrecision(232.57666015625)).toBe(232.5767);
    expect(toSensorPrecision(0.0107421875)).toBe(0.01074219);
    expect(toSensorPrecision(123_456_789)).toBe(123_456_789);
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
        const r = toSensorPrecision(v);
        if (Number.isInteger(v)) expect(r).toBe(v);
        else expect(Math.abs(r - v)).toBeLessThanOrEqual(Math.abs(v) * 5e-7);
      }),
    );
  });
});
