/**
 * Poll: one device on one bus. Each cycle sends the planned reads through the bus scheduler and turns
 * the answers into Readings with a quality. A device that stops answering is backed off (exponential,
 * capped) so it never eats the line's time of healthy devices; it is probed again and recovers by itself.
 */
import type { Driver, Reading, ReadingSink, BadReason } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import type { Profile, ProfilePoint } from '../../profiles/schema.js';
import type { ModbusBus } from '../../bus/modbus-bus.js';
import { ModbusFailure } from '../../bus/modbus-client.js';
import { decodePoint } from './codec.js';
import { planDevice, pointWidth, type DevicePlan, type DeviceRead } from './device-plan.js';
import type { RefusedRange } from './planner.js';
import type { LineTiming, ReadFunction } from './wire-cost.js';

export interface ModbusDriverOptions {
  readonly deviceId: string;
  readonly unit: number;
  readonly pollMs: number;
  readonly profile: Profile;
  readonly points: readonly ProfilePoint[];
  readonly bus: ModbusBus;
  readonly timing: LineTiming;
  readonly logger: Logger;
  /** Consecutive failed cycles before backing off. */
  readonly failuresBeforeBackoff?: number;
  readonly maxBackoffMs?: number;
  readonly now?: () => number;
}

const EXCEPTION_ILLEGAL_ADDRESS = 2;

export class ModbusDeviceDriver implements Driver {
  private plan: DevicePlan;
  private readonly holes = new Map<ReadFunction, RefusedRange[]>();
  private timer?: NodeJS.Timeout;
  private polling = false;
  private stopped = true;
  private failedCycles = 0;
  private skipUntil = 0;
  private readonly counters = { cycles: 0, overruns: 0, skipped: 0, timeout: 0, exception: 0, crc: 0, frame: 0, disconnected: 0, replans: 0 };
  private readonly now: () => number;

  constructor(private readonly opts: ModbusDriverOptions) {
    this.now = opts.now ?? Date.now;
    this.plan = this.replan();
  }

  get id(): string {
    return this.opts.deviceId;
  }

  get currentPlan(): DevicePlan {
    return this.plan;
  }

  async start(sink: ReadingSink): Promise<void> {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(tick, this.opts.pollMs - (this.now() % this.opts.pollMs));
      void this.cycle(sink);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  stats(): Record<string, number> {
    return { ...this.counters, failedCycles: this.failedCycles, backedOff: this.skipUntil > this.now() ? 1 : 0 };
  }

  /** One poll cycle; overlapping cycles are skipped and counted, never queued up. */
  private async cycle(sink: ReadingSink): Promise<void> {
    if (this.polling) return void this.counters.overruns++;
    if (this.now() < this.skipUntil) return void this.counters.skipped++;
    this.polling = true;
    try {
      const readings = await this.pollOnce();
      if (!this.stopped) sink(readings);
    } finally {
      this.polling = false;
    }
  }

  /** Sends every planned read once and returns one reading per selected point. */
  async pollOnce(): Promise<Reading[]> {
    this.counters.cycles++;
    const readings: Reading[] = [];
    let answered = 0;
    for (const read of this.plan.reads) {
      const ts = this.now();
      try {
        const words = await this.opts.bus.read(this.opts.unit, read.fn, read.address, read.count);
        answered++;
        readings.push(...decodeRead(this.opts.deviceId, read, words, ts));
      } catch (err) {
        const failure = err instanceof ModbusFailure ? err : undefined;
        if (failure) this.counters[failure.reason]++;
        if (failure?.exceptionCode === EXCEPTION_ILLEGAL_ADDRESS) this.learnHoles(read);
        else if (failure?.reason === 'exception') answered++;
        readings.push(...read.points.map((p) => bad(this.opts.deviceId, p, ts, reasonOf(failure))));
      }
    }
    for (const u of this.plan.unreadable) readings.push(bad(this.opts.deviceId, u.point, this.now(), 'exception'));
    this.trackHealth(answered > 0 || this.plan.reads.length === 0);
    return readings;
  }

  private trackHealth(healthy: boolean): void {
    if (healthy) {
      if (this.failedCycles >= (this.opts.failuresBeforeBackoff ?? 3)) this.opts.logger.info({ device: this.id }, 'device answers again');
      this.failedCycles = 0;
      this.skipUntil = 0;
      return;
    }
    this.failedCycles++;
    const threshold = this.opts.failuresBeforeBackoff ?? 3;
    if (this.failedCycles < threshold) return;
    const backoff = Math.min(this.opts.pollMs * 2 ** (this.failedCycles - threshold), this.opts.maxBackoffMs ?? 300_000);
    this.skipUntil = this.now() + backoff;
    this.opts.logger.warn({ device: this.id, failedCycles: this.failedCycles, backoffMs: backoff }, 'device not answering; backing off');
  }

  /**
   * Exception 2 on a read: if it read through gaps, the gaps are suspected holes, so the next plan
   * does not read through them; if it was a single point, that point is refused by the device.
   */
  private learnHoles(read: DeviceRead): void {
    const spans = read.points.map((p) => ({ start: p.address, end: p.address + pointWidth(p) - 1 })).sort((a, b) => a.start - b.start);
    const known = this.holes.get(read.fn) ?? [];
    const gaps: RefusedRange[] = [];
    let cursor = read.address;
    for (const s of spans) {
      if (s.start > cursor) gaps.push({ start: cursor, end: s.start - 1 });
      cursor = Math.max(cursor, s.end + 1);
    }
    const learnt = gaps.length > 0 ? gaps : spans;
    this.holes.set(read.fn, [...known, ...learnt]);
    this.counters.replans++;
    this.opts.logger.warn({ device: this.id, fn: read.fn, holes: learnt }, 'device refused a read (exception 2); re-planning around it');
    this.plan = this.replan();
  }

  private replan(): DevicePlan {
    return planDevice(this.opts.unit, this.opts.points, this.opts.profile.limits, this.opts.timing, this.holes);
  }
}

function decodeRead(device: string, read: DeviceRead, words: readonly number[], ts: number): Reading[] {
  return read.points.map((p) => {
    const offset = p.address - read.address;
    const result = decodePoint(words.slice(offset, offset + pointWidth(p)), p);
    return result.value === null
      ? bad(device, p, ts, result.reason)
      : { device, point: p.name, ts, value: result.value, quality: 'good' as const };
  });
}

const bad = (device: string, p: ProfilePoint, ts: number, reason: BadReason): Reading => ({
  device,
  point: p.name,
  ts,
  value: null,
  quality: 'bad',
  reason,
});

function reasonOf(f: ModbusFailure | undefined): BadReason {
  switch (f?.reason) {
    case 'exception':
      return 'exception';
    case 'crc':
      return 'crc';
    case 'frame':
      return 'frame';
    default:
      return 'timeout';
  }
}
