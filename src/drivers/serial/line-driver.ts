/**
 * A device that prints ASCII lines (`T=21.4;H=40`) as a driver: each decoded line becomes one reading
 * per configured field. A field that is not a number becomes a bad reading (reason `decode`); a line
 * that matches nothing or outgrows maxLineBytes is dropped and counted (stats), never buffered.
 */
import type { Driver, PointInfo, Reading, ReadingSink } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import type { BusConfig, LineDeviceConfig } from '../../config/schema.js';
import { SerialLink, serialSettingsOf, type SerialPortFactory } from './serial-link.js';
import { LineDecoder, type LineDecoderOptions, type LineEvent } from './line/index.js';

/** A line device that printed nothing for this long gets its port reopened (at least 3 poll intervals). */
export const LINE_MIN_SILENCE_MS = 30_000;

export interface LineDriverOptions {
  readonly portFactory?: SerialPortFactory;
  readonly now?: () => number;
  readonly silenceMs?: number;
}

/** The decoder options of a line device's config (also used by `passerelle decode --config`). */
export function lineDecoderOptionsOf(device: Pick<LineDeviceConfig, 'line'>): LineDecoderOptions {
  const { delimiter, pattern, pairSeparator, kvSeparator, maxLineBytes, fields } = device.line;
  return { delimiter, pairSeparator, kvSeparator, maxLineBytes, ...(pattern ? { pattern } : {}), ...(fields ? { fields } : {}) };
}

/** One point per configured field; without `fields` nothing can be classified, so nothing is aggregated. */
export function linePointInfos(device: LineDeviceConfig): PointInfo[] {
  return Object.entries(device.line.fields ?? {}).map(([name, f]) => ({
    device: device.id,
    point: name,
    ...(f.unit ? { unit: f.unit } : {}),
    dataClass: f.class,
    measure: f.measure,
  }));
}

export class LineDriver implements Driver {
  private readonly decoder: LineDecoder;
  private readonly link: SerialLink;
  private readonly now: () => number;
  private sink: ReadingSink | undefined;
  private readonly counters = { readings: 0, badReadings: 0 };

  constructor(
    private readonly device: LineDeviceConfig,
    bus: BusConfig,
    logger: Logger,
    opts: LineDriverOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.decoder = new LineDecoder(lineDecoderOptionsOf(device));
    if (!device.line.fields) logger.warn({ device: device.id }, 'line device without fields: values are decoded but none reaches the windows (add line.fields with a class each)');
    this.link = new SerialLink({
      settings: serialSettingsOf(bus, device.id),
      logger,
      onData: (chunk) => this.onData(chunk),
      silenceMs: opts.silenceMs ?? Math.max(LINE_MIN_SILENCE_MS, 3 * device.poll),
      ...(opts.portFactory ? { portFactory: opts.portFactory } : {}),
    });
  }

  get id(): string {
    return this.device.id;
  }

  async start(sink: ReadingSink): Promise<void> {
    this.sink = sink;
    await this.link.start();
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    await this.link.stop();
  }

  stats(): Record<string, number> {
    return { ...this.decoder.stats(), ...this.counters, ...this.link.stats() };
  }

  bufferedBytes(): number {
    return this.decoder.bufferedBytes();
  }

  private onData(chunk: Buffer): void {
    const ts = this.now();
    const readings = this.decoder.push(chunk).flatMap((e) => this.readingsOf(e, ts));
    if (readings.length === 0 || !this.sink) return;
    for (const r of readings) {
      if (r.quality === 'good') this.counters.readings++;
      else this.counters.badReadings++;
    }
    this.sink(readings);
  }

  private readingsOf(event: LineEvent, ts: number): Reading[] {
    const device = this.device.id;
    if (event.type === 'reading') return Object.entries(event.values).map(([point, value]) => ({ device, point, ts, value, quality: 'good' as const }));
    if (event.type === 'field-error') return [{ device, point: event.field, ts, value: null, quality: 'bad', reason: 'decode' }];
    return [];
  }
}
