/**
 * Poll: one device on one bus. Ticks fall on the wall clock (device-plan.ts: pollGroups, nextTick); each
 * tick's cycle sends the planned reads for the points due through the bus scheduler and turns the answers
 * into Readings with a quality. Rules (docs/modbus.md, "Faults"):
 *  - Quality: a point is `good` with its value, or `bad` with the reason of its read's failure (timeout,
 *    exception, crc, frame) or of its decoding (decode, no-sensor). The driver never emits `stale`: a point
 *    not read (device backed off, queue full) is not emitted at all, and the window's completeness
 *    (count against expected) shows the gap.
 *  - Exception 2 on a read: the planner's splitOnException splits it; the suspected holes are remembered
 *    for this device, the smaller reads are tried in the same cycle, and a point refused on its own is
 *    reported bad (exception) from then on.
 *  - A cycle in which nothing has answered yet stops at the first read that times out: a dead device costs
 *    the line one read's timeout (x retries) per cycle, not one per read.
 *  - After failuresBeforeBackoff failed cycles in a row, the device is backed off: no cycles for a period
 *    that doubles after each failed probe, from the shortest poll interval up to maxBackoffMs. At the end of
 *    each period ONE cheap read (no retries) probes it; when it answers, the device recovers at once.
 */
import type { BadReason, Driver, Reading, ReadingSink } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import type { Profile, ProfilePoint } from '../../profiles/schema.js';
import type { ModbusBus, ReadOptions } from '../../bus/modbus-bus.js';
import { ModbusFailure } from '../../bus/modbus-failure.js';
import { decodePoint } from './codec.js';
import { addDueAt, duePoints, nextTick, planDevice, pollGroups, type DevicePlan, type DeviceRead, type PollGroup } from './device-plan.js';
import { mergeRanges, splitOnException, type RefusedRange } from './planner.js';
import type { LineTiming, ReadFunction } from './wire-cost.js';

export interface ModbusDriverOptions {
  readonly deviceId: string;
  readonly unit: number;
  /** Default poll interval of the device's points. */
  readonly pollMs: number;
  /** Points polled at their own interval, by point name (ms). */
  readonly pointPollMs?: Readonly<Record<string, number>>;
  readonly profile: Profile;
  readonly points: readonly ProfilePoint[];
  readonly bus: ModbusBus;
  readonly timing: LineTiming;
  readonly logger: Logger;
  /** This device's answer timeout and retries; the bus's when absent (a slow device on a fast line). */
  readonly timeoutMs?: number;
  readonly retries?: number;
  /** Consecutive failed cycles before backing off. Default 3. */
  readonly failuresBeforeBackoff?: number;
  /** Longest backoff period. Default 5 minutes. */
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
}

const EXCEPTION_ILLEGAL_ADDRESS = 2;
/** Plans cached per set of due intervals; a device has few distinct intervals, so few sets. */
const MAX_CACHED_PLANS = 32;

export class ModbusDeviceDriver implements Driver {
  private readonly groups: PollGroup[];
  private readonly intervals: number[];
  private readonly holes = new Map<ReadFunction, RefusedRange[]>();
  /** Keyed by the due intervals as a bit set over `intervals` (a string beyond 30 intervals). */
  private readonly plans = new Map<number | string, DevicePlan>();
  /** The same options object for every read of a cycle. */
  private readonly readOptions: ReadOptions;
  /** Intervals due at the next cycle; swapped with `cycleDue` when a cycle starts (no Set per tick). */
  private pendingDue = new Set<number>();
  private cycleDue = new Set<number>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private stopped = true;
  private failedCycles = 0;
  private skipUntil = 0;
  /** The last tick scheduled: the next one is strictly after it, whatever the wall clock says. */
  private lastTick = -Infinity;
  private readonly counters = {
    cycles: 0, overruns: 0, skipped: 0, probes: 0, recoveries: 0, refused: 0,
    timeout: 0, exception: 0, crc: 0, frame: 0, disconnected: 0, replans: 0,
  };
  private readonly now: () => number;

  constructor(private readonly opts: ModbusDriverOptions) {
    this.now = opts.now ?? Date.now;
    this.groups = pollGroups(opts.points, opts.pollMs, opts.pointPollMs);
    this.intervals = this.groups.map((g) => g.intervalMs);
    this.readOptions = { timeoutMs: opts.timeoutMs, retries: opts.retries };
  }

  get id(): string {
    return this.opts.deviceId;
  }

  /** The plan of a cycle that reads every point. */
  get currentPlan(): DevicePlan {
    return this.planFor(new Set(this.intervals));
  }

  get backedOff(): boolean {
    return this.failedCycles >= this.threshold;
  }

  async start(sink: ReadingSink): Promise<void> {
    this.stopped = false;
    for (const i of this.intervals) this.pendingDue.add(i);
    void this.cycle(sink);
    this.scheduleNext(sink);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  stats(): Record<string, number> {
    return { ...this.counters, failedCycles: this.failedCycles, backedOff: this.backedOff ? 1 : 0 };
  }

  private get threshold(): number {
    return this.opts.failuresBeforeBackoff ?? 3;
  }

  private scheduleNext(sink: ReadingSink): void {
    if (this.stopped) return;
    // A timer can fire a little before its tick by the wall clock (timers run on the monotonic clock; NTP
    // slews the wall clock): counting from the tick itself keeps that tick from being scheduled twice,
    // which would read the slow points twice in one period. A clock set back by more than a poll period
    // is a step, not a slew: ticks follow the new time rather than waiting for the old one.
    const now = this.now();
    const early = now < this.lastTick && this.lastTick - now <= this.intervals[0]!;
    const tick = nextTick(early ? this.lastTick : now, this.intervals);
    this.lastTick = tick;
    this.timer = setTimeout(() => {
      this.scheduleNext(sink);
      addDueAt(this.pendingDue, tick, this.intervals);
      void this.cycle(sink);
    }, Math.max(0, tick - this.now()));
  }

  /** One tick. A cycle still running absorbs the tick: its due points join the next cycle (counted). */
  private async cycle(sink: ReadingSink): Promise<void> {
    if (this.polling) return void this.counters.overruns++;
    // The previous cycle is over: its set is free to collect the ticks that come during this one.
    const due = this.pendingDue;
    this.pendingDue = this.cycleDue;
    this.pendingDue.clear();
    this.cycleDue = due;
    if (this.backedOff && this.now() < this.skipUntil) return void this.counters.skipped++;
    this.polling = true;
    try {
      if (this.backedOff && !(await this.probe())) return;
      const readings = await this.pollOnce(due);
      if (!this.stopped) sink(readings);
    } finally {
      this.polling = false;
    }
  }

  /** One cheap read without retries; true when the device answered (an exception is an answer). */
  private async probe(): Promise<boolean> {
    const read = [...this.currentPlan.reads].sort((a, b) => a.count - b.count)[0];
    if (!read) return true;
    this.counters.probes++;
    try {
      await this.opts.bus.read(this.opts.unit, read.fn, read.address, read.count, { retries: 0, timeoutMs: this.opts.timeoutMs });
      return true;
    } catch (err) {
      if (err instanceof ModbusFailure && err.reason === 'exception') return true;
      this.trackHealth(false);
      return false;
    }
  }

  /** Sends the reads for the due points and returns one reading per point read (see the file comment). */
  async pollOnce(due: ReadonlySet<number> = new Set(this.intervals)): Promise<Reading[]> {
    this.counters.cycles++;
    const plan = this.planFor(due);
    const readings: Reading[] = [];
    const work: DeviceRead[] = [...plan.reads];
    let answered = 0;
    for (let read = work.shift(); read; read = work.shift()) {
      try {
        const words = await this.opts.bus.read(this.opts.unit, read.fn, read.address, read.count, this.readOptions);
        answered++;
        decodeRead(readings, this.opts.deviceId, read, words, this.now());
      } catch (err) {
        if (!(err instanceof ModbusFailure)) {
          this.counters.refused++; // queue full or bus closing: not read, not emitted
          continue;
        }
        this.counters[err.reason]++;
        if (err.reason === 'exception') answered++;
        if (err.exceptionCode === EXCEPTION_ILLEGAL_ADDRESS) {
          const lesson = this.learnFromRefusal(plan, read);
          work.unshift(...lesson.retry);
          readings.push(...lesson.refused.map((p) => bad(this.opts.deviceId, p, this.now(), 'exception')));
          continue;
        }
        const reason = reasonOf(err);
        readings.push(...read.points.map((p) => bad(this.opts.deviceId, p, this.now(), reason)));
        if (answered === 0 && (err.reason === 'timeout' || err.reason === 'disconnected')) {
          for (const rest of work.splice(0)) readings.push(...rest.points.map((p) => bad(this.opts.deviceId, p, this.now(), reason)));
        }
      }
    }
    for (const u of plan.unreadable) readings.push(bad(this.opts.deviceId, u.point, this.now(), 'exception'));
    this.trackHealth(answered > 0 || plan.reads.length === 0);
    return readings;
  }

  private trackHealth(healthy: boolean): void {
    if (healthy) {
      if (this.backedOff) {
        this.counters.recoveries++;
        this.opts.logger.info({ failedCycles: this.failedCycles }, 'device answers again');
      }
      this.failedCycles = 0;
      this.skipUntil = 0;
      return;
    }
    this.failedCycles++;
    if (!this.backedOff) return;
    const backoff = Math.min(this.intervals[0]! * 2 ** (this.failedCycles - this.threshold), this.opts.maxBackoffMs ?? 300_000);
    this.skipUntil = this.now() + backoff;
    this.opts.logger.warn({ failedCycles: this.failedCycles, backoffMs: backoff }, 'device not answering; backing off');
  }

  /** Exception 2: remember the suspected holes, re-plan, and say what to read instead and what is refused. */
  private learnFromRefusal(plan: DevicePlan, read: DeviceRead): { retry: DeviceRead[]; refused: ProfilePoint[] } {
    const group = plan.byFunction.get(read.fn)!;
    const lesson = splitOnException(read, group.wanted, group.maxPerRead);
    this.holes.set(read.fn, mergeRanges([...(this.holes.get(read.fn) ?? []), ...lesson.suspectedRefused]));
    this.plans.clear();
    this.counters.replans++;
    this.opts.logger.warn(
      { fn: read.fn, address: read.address, count: read.count, holes: lesson.suspectedRefused },
      'device refused a read (exception 2); re-planning around it',
    );
    return {
      retry: lesson.retry.map((r) => ({ ...r, points: r.covers.map((i) => group.points[i]!) })),
      refused: lesson.unreadable.map((i) => group.points[i]!),
    };
  }

  private planFor(due: ReadonlySet<number>): DevicePlan {
    const key = this.planKey(due);
    let plan = this.plans.get(key);
    if (!plan) {
      if (this.plans.size >= MAX_CACHED_PLANS) this.plans.clear();
      const points = duePoints(this.groups, due);
      plan = planDevice(this.opts.unit, points, this.opts.profile.limits, this.opts.timing, this.holes);
      this.plans.set(key, plan);
    }
    return plan;
  }

  private planKey(due: ReadonlySet<number>): number | string {
    if (this.intervals.length > 30) return [...due].sort((a, b) => a - b).join(',');
    let bits = 0;
    for (let i = 0; i < this.intervals.length; i++) if (due.has(this.intervals[i]!)) bits |= 1 << i;
    return bits;
  }
}

/** Appends one reading per point of the read to `into` (no array per read or per point: this runs per poll). */
function decodeRead(into: Reading[], device: string, read: DeviceRead, words: readonly number[], ts: number): void {
  for (const p of read.points) {
    const result = decodePoint(words, p, p.address - read.address);
    into.push(result.value === null ? bad(device, p, ts, result.reason) : { device, point: p.name, ts, value: result.value, quality: 'good' });
  }
}

const bad = (device: string, p: ProfilePoint, ts: number, reason: BadReason): Reading => ({
  device,
  point: p.name,
  ts,
  value: null,
  quality: 'bad',
  reason,
});

function reasonOf(f: ModbusFailure): BadReason {
  switch (f.reason) {
    case 'exception':
    case 'crc':
    case 'frame':
      return f.reason;
    default:
      return 'timeout';
  }
}
