import { describe, expect, it } from 'vitest';
import { countUnflaggedDuplicates, runCrashHarness } from '../helpers/crash-harness.js';

const KILLS = Number(process.env.PASSERELLE_CRASH_KILLS ?? 20);

describe('the gateway killed with SIGKILL at random moments', () => {
  it(`${KILLS} kills: never a corrupt store, no acknowledged or queued summary lost, no unflagged duplicate, no window without a summary, raw loss within one write batch`, async () => {
    const report = await runCrashHarness({ kills: KILLS, minUpMs: 200, maxUpMs: 2200 });
    process.stdout.write(`crash harness: ${JSON.stringify(report)}\n`);

    expect(report.kills).toBeGreaterThanOrEqual(20);
    expect(report.corrupt).toBe(0);
    expect(report.lostAcked).toBe(0);
    expect(report.lostPending).toBe(0);
    expect(report.duplicatesUnflagged).toBe(0);
    expect(report.maxRawLoss).toBeLessThanOrEqual(report.rawLossBound);
    expect(report.windowsMissing).toBe(0); // every window killed mid-way was rebuilt and sent
    expect(report.summariesAheadOfMark).toBe(0); // a window's summaries and its mark are one commit
    // The run did real work: readings stored and summaries queued and delivered across the restarts
    // (a 1 s window closes about once per run; runs are short so that kills are many).
    expect(report.readingsStored).toBeGreaterThan(KILLS * 50);
    expect(report.summariesSeen).toBeGreaterThanOrEqual(5);
    expect(report.messagesReceived).toBeGreaterThanOrEqual(report.summariesSeen);
  }, 300_000); // a child start takes up to ~8 s when the 2 cores are shared
});

describe('duplicate detection (the check itself can fail)', () => {
  const d = (id: string, start: number) => ({ id, start, end: start + 1000 });
  it('flags two full ids for one window, accepts a partial one next to a full one, and a resend under the same id', () => {
    expect(countUnflaggedDuplicates([d('s:g:1000', 1000), d('s:g:1000', 1000)])).toBe(0);
    expect(countUnflaggedDuplicates([d('s:g:1000:1500', 1000), d('s:g:1000', 1000)])).toBe(0);
    expect(countUnflaggedDuplicates([d('s:g:1000#1', 1000), d('s:g:1000#2', 1000)])).toBe(0);
    expect(countUnflaggedDuplicates([d('s:g:1000', 1000), d('s:h:1000', 1000)])).toBe(1);
  });
});
