/**
 * `npm run bench -- policy`: the cost of the uplink policy's glob matching (issue 16).
 *
 * 1. Hostile globs: `*a*a…*a*c*` with k stars against a 61-character key of `a`s (no match: the worst
 *    case). The former matcher, a regular expression `^.*a.*a….*c.*$`, backtracks (its time grows like
 *    61^k / k!); it is timed for small k only. compileGlob scans the key once per literal piece.
 * 2. One window of a large site: 500 points, 40 rules with two stars each, applyPolicy per window,
 *    median of ROUNDS (the allowed set of each point is computed on the first window, then cached).
 * CPU time from process.hrtime; figures in bench/RESULTS.md.
 */
import { compileGlob } from '../src/core/glob.js';
import { policySchema } from '../src/config/schema.js';
import type { PointSummary, WindowSummary } from '../src/core/types.js';
import { applyPolicy } from '../src/uplink/policy.js';
import { median, printResult, printTable, round3 } from './lib/report.js';

const ROUNDS = 7;
const KEY = 'a'.repeat(61);
/** k stars, a `c` the key lacks: no match, found only after every way of placing the `a`s is tried. */
const hostile = (stars: number): string => `${'*a'.repeat(stars - 2)}*c*`;
const regexOf = (glob: string): RegExp => new RegExp(`^${glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

function timeMs(fn: () => void, repeat = 1): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < repeat; i++) fn();
  return Number(process.hrtime.bigint() - t) / 1e6 / repeat;
}

function siteWindow(): WindowSummary {
  const points: PointSummary[] = Array.from({ length: 500 }, (_, i) => ({
    device: `building-${i % 25}-device-${Math.floor(i / 25)}`,
    point: `point_${i}_value`,
    dataClass: 'energy',
    measure: 'gauge',
    count: 30,
    expected: 30,
    min: 1,
    max: 3,
    mean: 2,
    last: 2,
    bad: {},
  }));
  return { id: 's:g:0', site: 's', gateway: 'g', start: 0, end: 300_000, points };
}

export async function run(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const stars of [4, 5, 6, 8, 16, 32]) {
    const glob = hostile(stars);
    const matcher = compileGlob(glob);
    timeMs(() => matcher(KEY), 1000); // warm-up (JIT)
    const linear = median(Array.from({ length: ROUNDS }, () => timeMs(() => matcher(KEY), 1000)));
    // The regular expression only where it ends within a second or so.
    const regex = stars <= 6 ? timeMs(() => regexOf(glob).test(KEY)) : undefined;
    rows.push({ stars, 'compileGlob µs': round3(linear * 1000), ...(regex !== undefined && { 'regex ms': round3(regex) }) });
  }
  printTable(rows);

  const window = siteWindow();
  const policy = policySchema.parse({
    allow: Array.from({ length: 40 }, (_, i) => ({ match: `building-${i % 25}-*.point_*${i}_value`, statistics: ['mean'] })),
  });
  const first = timeMs(() => applyPolicy(window, policy));
  const perWindow = median(Array.from({ length: ROUNDS }, () => timeMs(() => applyPolicy(window, policy))));
  printTable([{ site: '500 points, 40 rules', 'first window ms': round3(first), 'next windows ms': round3(perWindow) }]);

  const worst = rows.find((r) => r.stars === 8)!;
  printResult('policy', {
    hostileGlob8StarsUs: worst['compileGlob µs'] as number,
    regex6StarsMs: rows.find((r) => r.stars === 6)!['regex ms'] as number,
    windowFirstMs: round3(first),
    windowMs: round3(perWindow),
  });
}
