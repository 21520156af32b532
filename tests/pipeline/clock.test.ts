import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Aggregator } from '../../src/pipeline/aggregator.js';
import { ClockGuard, MAX_SAMPLE_AGE_MS, releaseFromPreviousWindow } from '../../src/pipeline/clock.js';
import { CLOCK_NOT_BEFORE, TIMESYNC_FLAG, defaultClockTrust } from '../../src/pipeline/clock-trust.js';
import type { Reading } from '../../src/core/types.js';

const MIN = 60_000;
const W = 15 * MIN;
const WRONG = Date.parse('2024-01-01T00:00:00Z'); // a board without RTC, booted with an old saved time
const RIGHT = Date.parse('2026-01-15T10:20:00Z'); // what NTP says

/** A board: a monotonic clock, and a wall clock that is wrong until NTP steps it. */
class Board {
  mono = 5000;
  wallOffset = WRONG - this.mono;
  synced = false;
  trustAsked = 0;
  wall = (): number => this.mono + this.wallOffset;
  advance(ms: number): void {
    this.mono += ms;
  }
  ntpStep(to: number): void {
    this.wallOffset = to - this.mono;
    this.synced = true;
  }
  guard(maxHeld = 1000, releaseFrom?: (t: number) => number): ClockGuard {
    return new ClockGuard({
      isTrusted: () => (this.trustAsked++, this.synced),
      maxHeld,
      monotonicNow: () => this.mono,
      wallNow: this.wall,
      ...(releaseFrom && { releaseFrom }),
    });
  }
}

const reading = (ts: number, value = 20): Reading => ({ device: 'room', point: 'temperature', ts, value, quality: 'good' });

describe('ClockGuard', () => {
  it('passes readings through unchanged once the clock is trusted, and stops asking', () => {
    const board = new Board();
    board.ntpStep(RIGHT);
    const guard = board.guard();
    const readings = [reading(RIGHT), reading(RIGHT + 1)];
    expect(guard.admit(readings)).toEqual(readings);
    board.synced = false; // sync flapping later does not matter: trust is latched
    expect(guard.admit(readings)).toEqual(readings);
    expect(board.trustAsked).toBe(1);
    expect(guard.stats()).toMatchObject({ trusted: true, held: 0, restamped: 0 });
  });

  it('holds readings until trust, then re-stamps each as wallAtTrust - (monoAtTrust - monoAtSample)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 * MIN }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 5 * MIN }), (gaps, untilSync) => {
        const board = new Board();
        const guard = board.guard();
        const monoAtSample: number[] = [];
        for (const gap of gaps) {
          board.advance(gap);
          monoAtSample.push(board.mono);
          expect(guard.admit([reading(board.wall())])).toEqual([]);
        }
        expect(guard.stats().held).toBe(gaps.length);
        board.advance(untilSync);
        board.ntpStep(RIGHT);
        const released = guard.release();
        expect(released.map((r) => r.ts)).toEqual(monoAtSample.map((m) => RIGHT - (board.mono - m)));
        expect(guard.stats()).toMatchObject({ trusted: true, held: 0, restamped: gaps.length });
      }),
    );
  });

  it('uses the reading age by the wrong wall clock, bounded to [0, MAX_SAMPLE_AGE_MS]', () => {
    const board = new Board();
    const guard = board.guard();
    guard.admit([reading(board.wall() - 2000, 1), reading(board.wall() + 5000, 2), reading(board.wall() - 10 * MIN, 3)]);
    board.advance(1000);
    board.ntpStep(RIGHT);
    const byValue = new Map(guard.release().map((r) => [r.value, r.ts]));
    expect(byValue.get(1)).toBe(RIGHT - 1000 - 2000); // sampled 2 s before it was admitted
    expect(byValue.get(2)).toBe(RIGHT - 1000); // a future stamp: age 0
    expect(byValue.get(3)).toBe(RIGHT - 1000 - MAX_SAMPLE_AGE_MS);
  });

  it('at maxHeld discards the oldest held readings and counts them', () => {
    const board = new Board();
    const guard = board.guard(3);
    for (let v = 1; v <= 5; v++) {
      board.advance(1000);
      guard.admit([reading(board.wall(), v)]);
    }
    expect(guard.stats()).toMatchObject({ held: 3, discardedOverflow: 2 });
    board.ntpStep(RIGHT);
    expect(guard.admit([reading(RIGHT, 6)]).map((r) => r.value)).toEqual([3, 4, 5, 6]);
  });

  it('maxHeld 0 discards everything until trust', () => {
    const board = new Board();
    const guard = board.guard(0);
    guard.admit([reading(board.wall()), reading(board.wall())]);
    expect(guard.stats()).toMatchObject({ held: 0, discardedOverflow: 2 });
  });

  it('discards and counts held readings that land before releaseFrom', () => {
    const board = new Board();
    const guard = board.guard(1000, (wallAtTrust) => wallAtTrust - 10 * MIN);
    for (let i = 0; i < 20; i++) {
      guard.admit([reading(board.wall(), i)]);
      board.advance(MIN);
    }
    board.ntpStep(RIGHT); // readings sampled 20, 19, ..., 1 min before trust
    const released = guard.release();
    expect(released.map((r) => RIGHT - r.ts)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1].map((m) => m * MIN));
    expect(guard.stats()).toMatchObject({ restamped: 10, discardedTooOld: 10 });
  });
});

describe('releaseFromPreviousWindow', () => {
  it('releases from the start of the window before the one containing the moment of trust', () => {
    const from = releaseFromPreviousWindow(W, 'Europe/Paris');
    expect(new Date(from(RIGHT)).toISOString()).toBe('2026-01-15T10:00:00.000Z'); // trust at 11:20 local
    // A day window on the autumn DST day: the previous local day starts at local midnight, 25 h before the next.
    const day = releaseFromPreviousWindow(24 * 60 * MIN, 'Europe/Paris');
    expect(new Date(day(Date.parse('2026-10-26T08:00:00Z'))).toISOString()).toBe('2026-10-24T22:00:00.000Z');
  });

  it("never before the aggregator's closed boundary", () => {
    const from = releaseFromPreviousWindow(W, 'UTC', () => RIGHT - 2 * MIN);
    expect(from(RIGHT)).toBe(RIGHT - 2 * MIN);
  });

  it('end to end: held readings fill the previous and current windows, older ones are counted', () => {
    const board = new Board();
    const agg = new Aggregator({
      site: 's', gateway: 'g', windowMs: W, timeZone: 'UTC',
      points: [{ device: 'room', point: 'temperature', dataClass: 'comfort', measure: 'gauge' }],
    });
    const guard = board.guard(1000, releaseFromPreviousWindow(W, 'UTC', () => agg.acceptsFrom()));
    for (let i = 0; i < 40; i++) {
      board.advance(MIN);
      agg.add(guard.admit([reading(board.wall(), i)]));
    }
    board.ntpStep(RIGHT); // 10:20 UTC; the readings were sampled at 09:41 ... 10:20
    agg.add(guard.release());
    const summaries = agg.flushAll(RIGHT + 1);
    expect(summaries.map((s) => [new Date(s.start).toISOString().slice(11, 16), s.points[0]!.count])).toEqual([
      ['10:00', 15],
      ['10:15', 6],
    ]);
    expect(guard.stats()).toMatchObject({ restamped: 21, discardedTooOld: 19 });
  });
});

describe('defaultClockTrust', () => {
  const probe = (overrides: { file?: boolean; ntp?: boolean; wall?: number; mode?: 'ntp' | 'always' }) => {
    let mono = 0;
    const calls = { ntp: 0 };
    const isTrusted = defaultClockTrust({
      mode: overrides.mode ?? 'ntp',
      wallNow: () => overrides.wall ?? CLOCK_NOT_BEFORE + 1,
      monotonicNow: () => mono,
      fileExists: (path) => path === TIMESYNC_FLAG && (overrides.file ?? false),
      ntpSynchronized: () => (calls.ntp++, overrides.ntp ?? false),
      recheckMs: 5000,
    });
    return { isTrusted, calls, advance: (ms: number) => (mono += ms), set: (o: typeof overrides) => Object.assign(overrides, o) };
  };

  it('ntp mode: trusted on the timesync flag or an NTP-synchronised kernel clock, never on the wall clock alone', () => {
    expect(probe({ file: true }).isTrusted()).toBe(true);
    expect(probe({ ntp: true }).isTrusted()).toBe(true);
    expect(probe({ wall: Date.parse('2030-01-01') }).isTrusted()).toBe(false);
  });

  it('always mode: trusted when the wall clock is not before this release, or when synchronised', () => {
    expect(probe({ mode: 'always' }).isTrusted()).toBe(true);
    expect(probe({ mode: 'always', wall: 0 }).isTrusted()).toBe(false); // booted in 1970
    expect(probe({ mode: 'always', wall: 0, ntp: true }).isTrusted()).toBe(true);
  });

  it('asks at most every recheckMs, and a yes is final', () => {
    const p = probe({});
    expect([p.isTrusted(), p.isTrusted()]).toEqual([false, false]);
    expect(p.calls.ntp).toBe(1);
    p.advance(5000);
    p.set({ ntp: true });
    expect(p.isTrusted()).toBe(true);
    p.set({ ntp: false });
    p.advance(60_000);
    expect(p.isTrusted()).toBe(true);
    expect(p.calls.ntp).toBe(2);
  });
});
