/**
 * After a crash (kill -9, power cut) the windows that were open, or in their close grace, never got a
 * summary, although their raw readings are in the store. At start the gateway replays the readings
 * stored since the window mark (the instant before which every window was summarised, kept in the
 * store) into its aggregator, oldest first: windows that ended before the newest stored reading's
 * window are summarised at once, that one stays open and goes on with the live readings. Each rebuilt
 * window is sent marked `recovered`, with its gap, unless its summary already reached the outbox (a
 * crash between the outbox write and the mark): never a second summary for one window.
 *
 * Independent of the raw write interval: whatever the last committed batch was, the gap starts at the
 * newest stored reading. Bounded: readings are read PAGE at a time; the aggregator keeps its own bound.
 */
import type { Logger } from '../core/logger.js';
import type { Reading, RecoveredWindow, WindowSummary } from '../core/types.js';
import type { Aggregator } from '../pipeline/aggregator.js';
import { windowEnd, windowStart } from '../pipeline/windows.js';
import type { Store } from '../store/store.js';

/** Readings read from the store per query while replaying (at most MAX_READINGS_PER_QUERY). */
const PAGE = 5000;

export interface RecoveryContext {
  readonly store: Store;
  readonly aggregator: Aggregator;
  readonly windowMs: number;
  readonly timeZone: string;
  /** Readings expected per point in a nominal window, to estimate what the gap lost. */
  readonly expectedPerWindow: ReadonlyMap<string, number>;
  readonly logger: Logger;
}

export class CrashRecovery {
  /** Starts of the windows rebuilt from the store and not yet summarised. */
  private readonly pending = new Set<number>();
  private firstLiveTs: number | undefined;

  private constructor(
    private readonly ctx: RecoveryContext,
    /** The newest reading stored before the crash: the gap starts there. */
    private readonly lastStoredTs: number | undefined,
  ) {}

  /**
   * Replays what the previous run left unsummarised; returns the recovery and the windows it could
   * close already (to enqueue through `settle`). A new store (no mark yet) gets its mark here.
   */
  static replay(ctx: RecoveryContext): { recovery: CrashRecovery; closed: WindowSummary[] } {
    const { store, logger } = ctx;
    const lastTs = store.lastReadingTs();
    const mark = store.windowsClosedBefore();
    if (mark === undefined) {
      // First start on this store (or on one made before the mark existed): what is stored is settled.
      store.markWindowsClosedBefore(lastTs === undefined ? 0 : lastTs + 1);
      return { recovery: new CrashRecovery(ctx, undefined), closed: [] };
    }
    const recovery = new CrashRecovery(ctx, lastTs);
    if (lastTs === undefined || lastTs < mark) return { recovery, closed: [] };
    const { closed, readings } = recovery.feed(mark);
    logger.warn(
      { windows: recovery.pending.size, readings, lastStored: new Date(lastTs).toISOString() },
      'the previous run did not stop cleanly: its unsummarised windows are rebuilt from the stored readings and sent marked recovered',
    );
    return { recovery, closed };
  }

  /**
   * The first live reading ends the gap; returns its time that once (undefined otherwise), so that the
   * gateway closes at once the rebuilt windows it proves over, before the aggregator takes it as "ahead"
   * of them (after a downtime of several windows, or a clock trusted only later).
   */
  noteLive(readings: readonly Reading[]): number | undefined {
    if (this.firstLiveTs !== undefined || this.pending.size === 0 || readings.length === 0) return undefined;
    this.firstLiveTs = Math.min(...readings.map((r) => r.ts));
    return this.firstLiveTs;
  }

  /**
   * A summary about to be enqueued: a rebuilt window gets its `recovered` marking, or undefined when
   * its summary is already in the outbox. Any other summary passes unchanged.
   */
  settle(summary: WindowSummary): WindowSummary | undefined {
    if (!this.pending.delete(summary.start)) return summary;
    const { store } = this.ctx;
    if (store.hasMessage(summary.id) || store.hasMessage(`${summary.id}#1`)) return undefined;
    return { ...summary, recovered: this.gapIn(summary) };
  }

  private gapIn(summary: WindowSummary): RecoveredWindow {
    const last = this.lastStoredTs;
    if (last === undefined || last >= summary.end) return { lost: 0 };
    const gapStart = Math.max(last, summary.start);
    const gapEnd = Math.min(summary.end, this.firstLiveTs ?? summary.end);
    if (gapEnd <= gapStart) return { lost: 0 };
    let perWindow = 0;
    for (const expected of this.ctx.expectedPerWindow.values()) perWindow += expected;
    const lost = Math.round((perWindow * (gapEnd - gapStart)) / this.ctx.windowMs);
    return { lost, gapStart, gapEnd };
  }

  /** Stored readings from `from` on, oldest first, into the aggregator; closes windows as it passes them. */
  private feed(from: number): { closed: WindowSummary[]; readings: number } {
    const { store, aggregator, windowMs, timeZone } = this.ctx;
    const closed: WindowSummary[] = [];
    let currentEnd = -Infinity;
    let count = 0;
    for (let next: number | undefined = from; next !== undefined; ) {
      const page = store.readingsBetween(next, Number.MAX_SAFE_INTEGER, PAGE);
      const { batch, resumeAt } = wholeInstants(page);
      next = resumeAt;
      let run: Reading[] = [];
      for (const reading of batch) {
        if (reading.ts >= currentEnd) {
          aggregator.add(run);
          run = [];
          closed.push(...aggregator.close(reading.ts));
          const start = windowStart(reading.ts, windowMs, timeZone);
          currentEnd = windowEnd(start, windowMs, timeZone);
          this.pending.add(start);
        }
        run.push(reading);
      }
      aggregator.add(run);
      count += batch.length;
    }
    return { closed, readings: count };
  }
}

/**
 * A full page may cut the readings of its last instant in two: those are left for the next page,
 * which starts at that instant. resumeAt is undefined after the last page.
 */
function wholeInstants(page: Reading[]): { batch: Reading[]; resumeAt: number | undefined } {
  if (page.length < PAGE) return { batch: page, resumeAt: undefined };
  const lastTs = page[page.length - 1]!.ts;
  const cut = page.findIndex((r) => r.ts === lastTs);
  // A whole page sampled at one instant (no real poll does that): take it and move past the instant.
  return cut > 0 ? { batch: page.slice(0, cut), resumeAt: lastTs } : { batch: page, resumeAt: lastTs + 1 };
}
