/**
 * `passerelle report --config FILE --from DATE --to DATE [--out FILE.html] [--json]`: the transparency
 * report from the gateway's daily ledger (store), as one self-contained HTML file, or the same figures as
 * JSON on standard output. Reads only: it may run while the gateway runs (the store's write-ahead log).
 */
import { existsSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PasserelleError } from '../../core/errors.js';
import { MAX_LEDGER_DAYS } from '../../store/ledger.js';
import type { ReportFigures } from '../../report/figures.js';
import { loadSite } from '../../gateway/load-site.js';

export interface ReportOptions {
  readonly config: string;
  readonly from: string;
  readonly to: string;
  readonly out?: string;
  readonly json?: boolean;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** A calendar date YYYY-MM-DD that exists (2026-02-30 does not). */
export function parseReportDate(what: string, value: string): string {
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (!DATE.test(value) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new PasserelleError('E_REPORT_DATE', `--${what} ${JSON.stringify(value)} is not a date: write it YYYY-MM-DD, e.g. 2026-01-31`);
  }
  return value;
}

export function checkReportSpan(from: string, to: string): void {
  if (from > to) throw new PasserelleError('E_REPORT_DATE', `--from ${from} is after --to ${to}`);
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (days > MAX_LEDGER_DAYS) {
    throw new PasserelleError('E_REPORT_DATE', `${days} days asked; a report covers at most ${MAX_LEDGER_DAYS} days (the gateway keeps 400)`);
  }
}

export async function reportCommand(opts: ReportOptions): Promise<void> {
  const from = parseReportDate('from', opts.from);
  const to = parseReportDate('to', opts.to);
  checkReportSpan(from, to);
  const { config } = await loadSite(opts.config);
  // Never create a store (and a key) just to report on nothing.
  if (!existsSync(config.store.path)) {
    throw new PasserelleError('E_REPORT_NO_STORE', `no store at ${config.store.path}: the gateway has not run with this config here, so there is nothing to report`);
  }
  // Loaded here, not at import: every other command registers this one without opening SQLite.
  // Read-only, beside a running gateway: a report never waits for the gateway to stop, nor writes.
  const { readLedger } = await import('../../store/ledger-reader.js');
  const { reportFigures } = await import('../../report/figures.js');
  const { days, policies } = readLedger({ path: config.store.path, keyFile: config.store.keyFile, cipher: config.store.cipher }, from, to);
  const figures: ReportFigures = reportFigures({ site: config.site.id, gateway: config.gateway.id, from, to, days, policies, now: new Date() });
  if (opts.json) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  if (opts.out) {
    const { reportHtml } = await import('../../report/html.js');
    writeFileSync(opts.out, reportHtml(figures), { mode: 0o644 });
    if (!opts.json) process.stdout.write(`report written to ${opts.out}\n`);
  }
  if (!opts.json && !opts.out) {
    const t = figures.totals;
    process.stdout.write(`${from} to ${to}: ${t.messagesSent} messages (${t.bytesSent} bytes) sent, ${t.readingsKept} readings kept, ${t.readingsErased} erased; --out FILE.html for the report, --json for the figures\n`);
  }
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('the transparency report over a period: what left the building and what stayed (HTML or JSON)')
    .requiredOption('-c, --config <file>', 'site configuration (YAML)')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD (site time zone)')
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD, included')
    .option('--out <file>', 'write the self-contained HTML report here')
    .option('--json', 'print the same figures as JSON')
    .action(async (o: ReportOptions) => reportCommand(o));
}
