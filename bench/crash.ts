/**
 * `npm run bench -- crash [kills]`: the crash harness (tests/helpers/crash-harness.ts) with 200 SIGKILLs
 * by default. Prints one line per kill, a table, then the JSON line.
 */
import { runCrashHarness } from '../tests/helpers/crash-harness.js';
import { printResult, printTable } from './lib/report.js';

export async function run(args: string[]): Promise<void> {
  const kills = Number(args[0] ?? 200);
  const report = await runCrashHarness({ kills, log: (line) => process.stdout.write(`${line}\n`) });
  printTable(Object.entries(report).map(([figure, value]) => ({ figure, value })));
  printResult('crash', {
    kills: report.kills,
    corrupt: report.corrupt,
    lostAcked: report.lostAcked,
    duplicatesUnflagged: report.duplicatesUnflagged,
    maxRawLoss: report.maxRawLoss,
    windowsMissing: report.windowsMissing,
    summariesAheadOfMark: report.summariesAheadOfMark,
  });
}
