/**
 * SDI-12 sensors behind a USB adapter. SDI-12 is multi-drop: one Sdi12Bus owns the port and runs one
 * measurement session at a time, for each attached sensor at its poll interval (aligned to the wall
 * clock). Each Sdi12Driver is one sensor: start() attaches it to its bus, stop() detaches it.
 *
 * Wake-up: every command is preceded by a 12 ms break (port.set({ brk })). A pty cannot send a
 * break ("Inappropriate ioctl"); that is counted (breakUnsupported) and the command is sent anyway,
 * which is what the simulator on a pty expects.
 */
import type { BadReason, Driver, PointInfo, Reading, ReadingSink } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import type { BusConfig, Sdi12DeviceConfig } from '../../config/schema.js';
import { SerialLink, serialSettingsOf, type SerialPortFactory, type SerialSettings } from './serial-link.js';
import type { LineFramer } from './framer.js';
import { createSdi12Framer, SDI12_ADAPTER_SLACK_MS, SDI12_MARKING_MS, Sdi12Session, type Sdi12Step } from './sdi12/index.js';

/** Reply lines waiting to be read; a chattering line beyond this drops the oldest (counted). */
const MAX_PENDING_LINES = 8;

export function sdi12PointInfos(device: Sdi12DeviceConfig): PointInfo[] {
  return device.sdi12.values.map((v) => ({
    device: device.id,
    point: v.name,
    ...(v.unit ? { unit: v.unit } : {}),
    dataClass: v.class,
    measure: v.measure,
    ...(v.range ? { range: v.range } : {}),
  }));
}

interface Attached {
  readonly device: Sdi12DeviceConfig;
  readonly sink: ReadingSink;
  readonly counters: Sdi12DeviceCounters;
  nextDue: number;
  identified: boolean;
}

export interface Sdi12DeviceCounters {
  sessions: number;
  ok: number;
  timeouts: number;
  replyErrors: number;
  crcErrors: number;
  incomplete: number;
  overruns: number;
}

export interface Sdi12BusOptions {
  readonly id: string;
  readonly settings: SerialSettings;
  readonly logger: Logger;
  readonly portFactory?: SerialPortFactory;
  readonly now?: () => number;
}

export class Sdi12Bus {
  private readonly link: SerialLink;
  private readonly framer: LineFramer = createSdi12Framer();
  private readonly attached = new Map<string, Attached>();
  private readonly pending: string[] = [];
  private waiter: ((line: string | undefined) => void) | undefined;
  private wakeLoop: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private running = false;
  private readonly now: () => number;
  private readonly counters = { droppedLines: 0, oversizeLines: 0, writeErrors: 0, lateServiceRequests: 0 };
  /** The wait ended on time without the service request: it may still come, ahead of the data reply. */
  private lateServiceRequestFrom: string | undefined;

  constructor(private readonly opts: Sdi12BusOptions) {
    this.now = opts.now ?? Date.now;
    this.link = new SerialLink({
      settings: opts.settings,
      logger: opts.logger,
      onData: (chunk) => this.onData(chunk),
      onOpen: () => this.framer.reset(),
      ...(opts.portFactory ? { portFactory: opts.portFactory } : {}),
    });
  }

  async attach(device: Sdi12DeviceConfig, sink: ReadingSink): Promise<void> {
    this.attached.set(device.id, { device, sink, counters: emptyCounters(), nextDue: this.now(), identified: false });
    if (!this.running) {
      this.running = true;
      await this.link.start();
      this.loop = this.run();
    }
    this.wakeLoop?.();
  }

  async detach(deviceId: string): Promise<void> {
    this.attached.delete(deviceId);
    if (this.attached.size > 0 || !this.running) return;
    this.running = false;
    this.wakeLoop?.();
    this.waiter?.(undefined);
    await this.loop;
    await this.link.stop();
  }

  deviceStats(deviceId: string): Sdi12DeviceCounters | undefined {
    const a = this.attached.get(deviceId);
    return a ? { ...a.counters } : undefined;
  }

  stats(): Record<string, number> {
    return { ...this.counters, oversizeLines: this.framer.oversizeLines(), ...this.link.stats() };
  }

  private onData(chunk: Buffer): void {
    for (const framed of this.framer.push(chunk)) {
      if (framed.oversize) continue;
      if (this.waiter) {
        const resolve = this.waiter;
        this.waiter = undefined;
        resolve(framed.line);
      } else {
        if (this.pending.length >= MAX_PENDING_LINES) {
          this.pending.shift();
          this.counters.droppedLines++;
        }
        this.pending.push(framed.line);
      }
    }
  }

  /** The scheduler: the sensor due first runs next; a session never overlaps another. */
  private async run(): Promise<void> {
    while (this.running) {
      const next = [...this.attached.values()].sort((x, y) => x.nextDue - y.nextDue)[0];
      if (!next) {
        await this.idle(60_000);
        continue;
      }
      const wait = next.nextDue - this.now();
      if (wait > 0) {
        await this.idle(wait);
        continue;
      }
      await this.measure(next);
      const poll = next.device.poll;
      const after = this.now();
      const due = after - (after % poll) + poll;
      if (due - next.nextDue > poll && next.counters.sessions > 1) next.counters.overruns++;
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
      this.wakeLoop = done;
    });
  }

  private async measure(a: Attached): Promise<void> {
    const { device } = a;
    a.counters.sessions++;
    const ts = this.now();
    const session = new Sdi12Session({ address: device.sdi12.address, crc: device.sdi12.crc, identify: !a.identified });
    let step: Sdi12Step = session.step;
    this.lateServiceRequestFrom = undefined;
    while (this.running && (step.kind === 'send' || step.kind === 'wait')) {
      step = step.kind === 'send' ? await this.exchange(session, step) : await this.awaitValues(session, step, device.sdi12.address);
    }
    if (!this.running || !this.attached.has(device.id)) return;
    if (step.kind === 'done') {
      if (step.identity && !a.identified) {
        a.identified = true;
        this.opts.logger.info({ device: device.id, vendor: step.identity.vendor, model: step.identity.model, version: step.identity.version }, 'SDI-12 sensor identified');
      }
      a.counters.ok++;
      a.sink(valueReadings(device, ts, step.values));
    } else if (step.kind === 'failed') {
      const reason = countFailure(a.counters, step.code, step.message);
      this.opts.logger.warn({ device: device.id, code: step.code }, step.message);
      a.sink(device.sdi12.values.map((v) => ({ device: device.id, point: v.name, ts, value: null, quality: 'bad' as const, reason })));
    }
  }

  private async exchange(session: Sdi12Session, step: Extract<Sdi12Step, { kind: 'send' }>): Promise<Sdi12Step> {
    this.pending.length = 0;
    this.framer.reset();
    if (!this.link.isOpen) {
      await sleep(step.timeoutMs);
      return session.onTimeout();
    }
    await this.link.sendBreak(step.breakMs);
    await sleep(Math.ceil(SDI12_MARKING_MS));
    try {
      await this.link.write(step.command);
    } catch {
      this.counters.writeErrors++;
      return session.onTimeout();
    }
    const deadline = this.now() + step.timeoutMs;
    for (;;) {
      const line = await this.nextLine(Math.max(0, deadline - this.now()));
      if (line === undefined) return session.onTimeout();
      // A service request sent right at the announced time crosses our aD0!: it is not the data reply.
      if (line === this.lateServiceRequestFrom && step.expect === 'data') {
        this.lateServiceRequestFrom = undefined;
        this.counters.lateServiceRequests++;
        continue;
      }
      return session.onLine(line);
    }
  }

  /**
   * Waits the announced time, plus the adapter's latency; aM! ends early when the sensor sends its
   * service request.
   */
  private async awaitValues(session: Sdi12Session, step: Extract<Sdi12Step, { kind: 'wait' }>, address: string): Promise<Sdi12Step> {
    const deadline = this.now() + step.timeoutMs + SDI12_ADAPTER_SLACK_MS;
    while (this.running) {
      const line = await this.nextLine(Math.max(0, deadline - this.now()));
      if (line === undefined) {
        if (step.serviceRequest) this.lateServiceRequestFrom = address;
        return session.onTimeout();
      }
      const next = session.onLine(line);
      if (next !== step) return next;
    }
    return step;
  }

  private nextLine(timeoutMs: number): Promise<string | undefined> {
    const queued = this.pending.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiter = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }
}

function valueReadings(device: Sdi12DeviceConfig, ts: number, values: readonly number[]): Reading[] {
  return device.sdi12.values.map((v, i) => {
    const value = values[i];
    return value === undefined || !Number.isFinite(value)
      ? { device: device.id, point: v.name, ts, value: null, quality: 'bad' as const, reason: 'decode' as const }
      : { device: device.id, point: v.name, ts, value, quality: 'good' as const };
  });
}

function countFailure(c: Sdi12DeviceCounters, code: string, message: string): BadReason {
  if (code === 'E_SDI12_TIMEOUT') {
    c.timeouts++;
    return 'timeout';
  }
  if (code === 'E_SDI12_INCOMPLETE') {
    c.incomplete++;
    return 'decode';
  }
  if (message.includes('E_SDI12_CRC')) {
    c.crcErrors++;
    return 'crc';
  }
  c.replyErrors++;
  return 'decode';
}

const emptyCounters = (): Sdi12DeviceCounters => ({ sessions: 0, ok: 0, timeouts: 0, replyErrors: 0, crcErrors: 0, incomplete: 0, overruns: 0 });

/** One SDI-12 sensor on a shared Sdi12Bus. */
export class Sdi12Driver implements Driver {
  constructor(
    private readonly device: Sdi12DeviceConfig,
    private readonly bus: Sdi12Bus,
  ) {}

  get id(): string {
    return this.device.id;
  }

  async start(sink: ReadingSink): Promise<void> {
    await this.bus.attach(this.device, sink);
  }

  async stop(): Promise<void> {
    await this.bus.detach(this.device.id);
  }

  stats(): Record<string, number> {
    return { ...(this.bus.deviceStats(this.device.id) ?? emptyCounters()), ...this.bus.stats() };
  }
}

/** The drivers of every SDI-12 sensor on one serial bus, sharing one Sdi12Bus. */
export function createSdi12Drivers(devices: readonly Sdi12DeviceConfig[], bus: BusConfig, logger: Logger, portFactory?: SerialPortFactory): Sdi12Driver[] {
  if (devices.length === 0) return [];
  const shared = new Sdi12Bus({
    id: bus.id,
    settings: serialSettingsOf(bus, devices[0]!.id),
    logger: logger.child({ bus: bus.id }),
    ...(portFactory ? { portFactory } : {}),
  });
  return devices.map((d) => new Sdi12Driver(d, shared));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
