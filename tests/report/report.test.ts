/** Issue 14 item 4: the transparency report's figures, its HTML page, and its dates. */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkReportSpan, parseReportDate, reportCommand } from '../../src/cli/commands/report.js';
import { emptyFigures, mergeFigures, type LedgerDay } from '../../src/core/ledger.js';
import { reportFigures } from '../../src/report/figures.js';
import { reportHtml } from '../../src/report/html.js';
import { runCli } from '../cli/cli.js';
import { startLiveWriter } from '../store/fixtures/start-live-writer.js';

const day = (d: string, delta: Parameters<typeof mergeFigures>[1]): LedgerDay => ({ day: d, ...mergeFigures(emptyFigures(), delta) });

const days = [
  day('2026-03-01', { windows: 288, messagesSent: 288, bytesSent: 90_000, goodReadings: 900, expectedReadings: 1000, policies: ['p1'],
    points: { 'room-1.temperature': { dataClass: 'comfort', left: ['count', 'mean'], local: ['last', 'max', 'min'] } } }),
  day('2026-03-02', { windows: 288, messagesSent: 280, bytesSent: 88_000, messagesRefused: 8, readingsErased: 5000, policies: ['p1', 'p2'],
    points: { 'tic.ADCO': { dataClass: 'identifier', left: [], local: ['count', 'last'] } } }),
];
const policies = [
  { hash: 'p1', firstDay: '2026-03-01', policy: '{"allow":[]}' },
  { hash: 'p2', firstDay: '2026-03-02', policy: '{"allow":[{"match":"<script>"}]}' },
  { hash: 'p0', firstDay: '2025-01-01', policy: '{}' },
];

describe('the transparency report', () => {
  const f = reportFigures({ site: 'mairie-annexe', gateway: 'gw-1', from: '2026-03-01', to: '2026-03-31', days, policies, now: new Date(0) });

  it('totals the days and names what left and what stayed, with the policies in force only', () => {
    expect(f.totals).toMatchObject({ messagesSent: 568, bytesSent: 178_000, messagesRefused: 8, readingsErased: 5000, days: 2, completeness: 0.9 });
    expect(f.points).toEqual([
      { point: 'room-1.temperature', dataClass: 'comfort', left: ['count', 'mean'], local: ['last', 'max', 'min'] },
      { point: 'tic.ADCO', dataClass: 'identifier', left: [], local: ['count', 'last'] },
    ]);
    expect(f.policies.map((p) => p.hash)).toEqual(['p1', 'p2']);
    expect(f.days[1]!.completeness).toBeNull(); // nothing expected that day: not 0 %, unknown
  });

  it('is one self-contained HTML file: no external asset, no executable script, text escaped', () => {
    const html = reportHtml(f);
    expect(html).not.toMatch(/(src|href)=["']?https?:/i);
    expect(html).not.toMatch(/<script(?![^>]*type="application\/json")/);
    expect(html).not.toContain('<script>"');
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain('id="total-messages">568<');
    expect(html).toContain('It changed during the period (2 versions)');
    expect(html).toMatch(/<svg class="chart"/);
  });

  it('refuses dates that do not exist and spans it cannot cover, in words', () => {
    expect(parseReportDate('from', '2026-02-28')).toBe('2026-02-28');
    for (const bad of ['2026-02-30', '26-02-01', '2026-2-1', 'yesterday']) {
      expect(() => parseReportDate('from', bad)).toThrow(/--from .* is not a date: write it YYYY-MM-DD/);
    }
    expect(() => checkReportSpan('2026-03-02', '2026-03-01')).toThrow(/after/);
    expect(() => checkReportSpan('2024-01-01', '2026-01-01')).toThrow(/at most 431 days/);
    expect(() => checkReportSpan('2025-01-01', '2025-12-31')).not.toThrow();
  });

  it('creates no store (and no key) for a site where the gateway never ran', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-report-'));
    try {
      const file = join(dir, 'site.yaml');
      writeFileSync(file, `site: { id: s1, name: S, timezone: Europe/Paris }\ngateway: { id: g1 }\nstore: { path: ${dir}/data/x.db, keyFile: ${dir}/data/x.key }\n`);
      await expect(reportCommand({ config: file, from: '2026-01-01', to: '2026-01-31' })).rejects.toMatchObject({ code: 'E_REPORT_NO_STORE' });
      expect(existsSync(join(dir, 'data'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the ledger of a store a running gateway holds, through the CLI (a snapshot: it waits for nothing)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-report-'));
    const writer = await startLiveWriter(dir);
    try {
      const file = join(dir, 'site.yaml');
      writeFileSync(file, `site: { id: s1, name: S, timezone: Europe/Paris }\ngateway: { id: g1 }\nstore: { path: ${dir}/store.db, keyFile: ${dir}/store.key }\n`);
      const result = await runCli(['report', '--config', file, '--from', '2026-03-02', '--to', '2026-03-02', '--json']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout).totals.readingsKept).toBeGreaterThan(0);
    } finally {
      await writer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
