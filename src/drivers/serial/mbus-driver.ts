/**
 * M-Bus meters on one serial line. M-Bus is multi-drop: one MbusBus owns the port through its
 * MbusMaster and reads one meter at a time, each at its poll interval (aligned to the wall clock).
 * Each MbusDriver is one meter: start() attaches it, stop() detaches it. A meter addressed by its
 * identification number is selected (SND_UD to 253) before each read; a primary one gets SND_NKE
 * at first contact and after a failure, so its FCB starts afresh.
 */
import type { BadReason, Driver, PointInfo, Reading, ReadingSink } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import type { BusConfig, MbusDeviceConfig } from '../../config/schema.js';
import { getMbusProfile } from '../../profiles/index.js';
import { serialSettingsOf, type SerialPortFactory, type SerialSettings } from './serial-link.js';
import { ADDR_NETWORK, findRecord, MbusMaster, mbusPoints, pointValue, statusFlags, type MbusPoint } from './mbus/index.js';

export const isMbusDevice = (d: { protocol: string; mbus?: unknown }): d is MbusDeviceConfig => d.protocol === 'mbus' && d.mbus !== undefined;

export function mbusDevicePoints(device: MbusDeviceConfig, profileDir?: string): MbusPoint[] {
  return mbusPoints(device.id, getMbusProfile(device.profile, ...(profileDir ? [profileDir] : [])), device.points);
}

export function mbusPointInfos(device: MbusDeviceConfig, profileDir?: string): PointInfo[] {
  return mbusDevicePoints(device, profileDir).map((p) => ({
    device: device.id,
    point: p.name,
    ...(p.unit ? { unit: p.unit } : {}),
    dataClass: p.dataClass,
    measure: p.measure,
    ...(p.range ? { range: p.range } : {}),
  }));
}

export interface MbusMeterCounters {
  reads: number;
  ok: number;
  failures: number;
  missingRecords: number;
  overruns: number;
  /** Reads whose header status reported an error, power low or an alarm. */
  statusErrors: number;
}

interface Attached {
  readonly device: MbusDeviceConfig;
  readonly points: MbusPoint[];
  readonly sink: ReadingSink;
  readonly counters: MbusMeterCounters;
  nextDue: number;
  reset: boolean;
  lastStatus: number;
}

export interface MbusBusOptions {
  readonly settings: SerialSettings;
  readonly logger: Logger;
  readonly portFactory?: SerialPortFactory;
  readonly retries?: number;
  readonly slackMs?: number;
  readonly now?: () => number;
}

export class MbusBus {
  readonly master: MbusMaster;
  private readonly attached = new Map<string, Attached>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: MbusBusOptions) {
    this.now = opts.now ?? Date.now;
    this.master = new MbusMaster({
      settings: opts.settings,
      logger: opts.logger,
      ...(opts.portFactory ? { portFactory: opts.portFactory } : {}),
      ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
      ...(opts.slackMs !== undefined ? { slackMs: opts.slackMs } : {}),
    });
  }

  async attach(device: MbusDeviceConfig, points: MbusPoint[], sink: ReadingSink): Promise<void> {
    this.attached.set(device.id, { device, points, sink, counters: { reads: 0, ok: 0, failures: 0, missingRecords: 0, overruns: 0, statusErrors: 0 }, nextDue: this.now(), reset: true, lastStatus: 0 });
    if (!this.running) {
      this.running = true;
      await this.master.start();
      this.loop = this.run();
    }
    this.wake?.();
  }

  async detach(deviceId: string): Promise<void> {
    this.attached.delete(deviceId);
    if (this.attached.size > 0 || !this.running) return;
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.master.stop();
  }

  meterStats(deviceId: string): MbusMeterCounters | undefined {
    const a = this.attached.get(deviceId);
    return a ? { ...a.counters } : undefined;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const next = [...this.attached.values()].sort((x, y) => x.nextDue - y.nextDue)[0];
      const wait = next ? next.nextDue - this.now() : 60_000;
      if (!next || wait > 0) {
        await this.idle(Math.max(1, wait));
        continue;
      }
      await this.poll(next);
      const poll = next.device.poll;
      const after = this.now();
      const due = after - (after % poll) + poll;
      if (due - next.nextDue > poll && next.counters.reads > 1) next.counters.overruns++;
      next.nextDue = due;
    }
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async poll(a: Attached): Promise<void> {
    const { device } = a;
    a.counters.reads++;
    const ts = this.now();
    const address = await this.reach(a);
    const result = address === undefined ? ({ ok: false, reason: 'timeout', message: `meter ${device.mbus.secondary} did not answer its selection` } as const) : await this.master.read(address);
    if (!this.running || !this.attached.has(device.id)) return;
    if (!result.ok) {
      a.counters.failures++;
      a.reset = true;
      this.opts.logger.warn({ device: device.id, reason: result.reason }, result.message);
      const reason: BadReason = result.reason;
      a.sink(a.points.map((p) => ({ device: device.id, point: p.name, ts, value: null, quality: 'bad' as const, reason })));
      return;
    }
    a.counters.ok++;
    this.noteStatus(a, result.header?.status ?? 0);
    a.sink(a.points.map((p): Reading => {
      const value = pointValue(p, findRecord(result.records, p.selector));
      if (value === null) {
        a.counters.missingRecords++;
        return { device: device.id, point: p.name, ts, value: null, quality: 'bad', reason: 'decode' };
      }
      return { device: device.id, point: p.name, ts, value, quality: 'good' };
    }));
  }

  /** The meter's own status bits (error, power low, alarm): counted, and logged when they change. */
  private noteStatus(a: Attached, status: number): void {
    const flags = statusFlags(status & 0x1f);
    if (flags.length > 0) a.counters.statusErrors++;
    if ((status & 0x1f) !== (a.lastStatus & 0x1f)) {
      if (flags.length > 0) this.opts.logger.warn({ device: a.device.id, status: flags }, 'the meter reports a problem');
      else this.opts.logger.info({ device: a.device.id }, 'the meter reports no problem any more');
    }
    a.lastStatus = status;
  }

  /** The address to read: 253 after a selection by secondary address, or the primary one (SND_NKE first after a reset). */
  private async reach(a: Attached): Promise<number | undefined> {
    const o = a.device.mbus;
    if (o.secondary !== undefined) {
      const selected = await this.master.select({ id: o.secondary, ...(o.manufacturer ? { manufacturer: o.manufacturer } : {}) });
      return selected === 'selected' ? ADDR_NETWORK : undefined;
    }
    if (a.reset && (await this.master.sndNke(o.address!))) a.reset = false;
    return o.address;
  }
}

/** One M-Bus meter on a shared MbusBus. */
export class MbusDriver implements Driver {
  constructor(
    private readonly device: MbusDeviceConfig,
    private readonly points: MbusPoint[],
    private readonly bus: MbusBus,
  ) {}

  get id(): string {
    return this.device.id;
  }

  start(sink: ReadingSink): Promise<void> {
    return this.bus.attach(this.device, this.points, sink);
  }

  stop(): Promise<void> {
    return this.bus.detach(this.device.id);
  }

  stats(): Record<string, number> {
    return { ...(this.bus.meterStats(this.device.id) ?? {}), ...this.bus.master.stats() };
  }
}

/** The drivers of every M-Bus meter on one serial bus, sharing one MbusBus (one owner of the line). */
export function createMbusDrivers(devices: readonly MbusDeviceConfig[], bus: BusConfig, logger: Logger, portFactory?: SerialPortFactory): MbusDriver[] {
  if (devices.length === 0) return [];
  const shared = new MbusBus({
    settings: serialSettingsOf(bus, devices[0]!.id),
    logger: logger.child({ bus: bus.id }),
    retries: bus.retries,
    ...(portFactory ? { portFactory } : {}),
  });
  return devices.map((d) => new MbusDriver(d, mbusDevicePoints(d), shared));
}
