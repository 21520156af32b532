/**
 * Linky TIC as a driver: the meter pushes frames; each frame becomes one reading per kept label.
 * A group with a bad checksum is dropped and counted (and, if its label is kept, reported as a bad
 * reading with reason `checksum`); the frame's other groups are kept. Groups decoded before a frame
 * was cut are kept too: each group carries its own checksum.
 *
 * Mode `auto` hunts the baud rate: no valid group for HUNT_MS switches between 1200 (historique)
 * and 9600 (standard). The mode itself is read from the frames (ADCO + space vs ADSC + tab).
 * Identifiers (ADCO/ADSC/PRM) are readings only if `tic.labels` lists them, and never logged.
 */
import type { Driver, Reading, ReadingSink } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import type { BusConfig, TicDeviceConfig } from '../../config/schema.js';
import { SerialLink, serialSettingsOf, type SerialPortFactory } from './serial-link.js';
import { TicDecoder, type TicEvent, type TicGroup } from './tic/index.js';
import type { TicMode } from './tic/checksum.js';
import { ticKeptLabels, ticLabelInfo, ticModeOf, ticPointName, type TicModeOption } from './tic/points.js';
import { ticNumericValue } from './tic/labels.js';

export const TIC_BAUD: Readonly<Record<TicMode, number>> = { historique: 1200, standard: 9600 };
/** A Linky sends a frame every 1-2 s: a port silent this long is reopened. */
export const TIC_SILENCE_MS = 10_000;
/** Auto mode: without a valid group for this long, try the other baud rate. */
export const TIC_HUNT_MS = 6000;

export interface TicDriverOptions {
  readonly portFactory?: SerialPortFactory;
  readonly now?: () => number;
  readonly huntMs?: number;
  readonly silenceMs?: number;
}

const MODE_CODE: Readonly<Record<TicMode | 'unknown', number>> = { unknown: 0, historique: 1, standard: 2 };

export class TicDriver implements Driver {
  private readonly decoder = new TicDecoder();
  private readonly link: SerialLink;
  private readonly kept: ReadonlySet<string>;
  private readonly configuredMode: TicModeOption;
  private readonly now: () => number;
  private sink: ReadingSink | undefined;
  private detected: TicMode | undefined;
  private frameGroups: TicGroup[] = [];
  private frameBad: Reading[] = [];
  private lastValidAt = 0;
  private huntTimer: NodeJS.Timeout | undefined;
  private readonly counters = { readings: 0, badReadings: 0, wrongMode: 0, baudSwitches: 0, cutFramesKept: 0 };

  constructor(
    private readonly device: TicDeviceConfig,
    bus: BusConfig,
    private readonly logger: Logger,
    private readonly opts: TicDriverOptions = {},
  ) {
    this.kept = new Set(ticKeptLabels(device));
    this.configuredMode = ticModeOf(device);
    this.now = opts.now ?? Date.now;
    const settings = serialSettingsOf(bus, device.id);
    this.warnAboutLine(settings.baudRate, settings.dataBits, settings.parity);
    this.link = new SerialLink({
      settings,
      logger,
      onData: (chunk) => this.onData(chunk),
      onOpen: () => this.decoder.reset(),
      silenceMs: opts.silenceMs ?? TIC_SILENCE_MS,
      ...(opts.portFactory ? { portFactory: opts.portFactory } : {}),
    });
  }

  get id(): string {
    return this.device.id;
  }

  /** The mode read from the frames; undefined until a valid group arrived. */
  get detectedMode(): TicMode | undefined {
    return this.detected;
  }

  async start(sink: ReadingSink): Promise<void> {
    this.sink = sink;
    this.lastValidAt = this.now();
    await this.link.start();
    if (this.configuredMode === 'auto') this.huntTimer = setInterval(() => void this.huntBaud(), Math.max(250, Math.floor(this.huntMs / 4)));
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    clearInterval(this.huntTimer);
    await this.link.stop();
  }

  stats(): Record<string, number> {
    return { ...this.decoder.stats(), ...this.counters, ...this.link.stats(), mode: MODE_CODE[this.detected ?? 'unknown'], baudRate: this.link.currentBaudRate };
  }

  /** Bytes of the partial frame held: never more than the decoder's bound. */
  bufferedBytes(): number {
    return this.decoder.bufferedBytes();
  }

  private get huntMs(): number {
    return this.opts.huntMs ?? TIC_HUNT_MS;
  }

  private onData(chunk: Buffer): void {
    for (const event of this.decoder.push(chunk)) this.onEvent(event);
  }

  private onEvent(event: TicEvent): void {
    switch (event.type) {
      case 'group':
        this.frameGroups.push(event);
        this.lastValidAt = this.now();
        return;
      case 'group-error':
        this.onBadGroup(event.code, event.raw);
        return;
      case 'frame':
        this.emitFrame(event.mode);
        return;
      case 'frame-error':
        if (this.frameGroups.length > 0) this.counters.cutFramesKept++;
        this.emitFrame(this.frameGroups[0]?.mode ?? 'unknown');
    }
  }

  /** The group is lost; if its label is kept, the window learns a reading went bad and why. */
  private onBadGroup(code: string, raw: string): void {
    const label = /^[^\t ]*/.exec(raw)?.[0] ?? '';
    if (!this.kept.has(label)) return;
    this.frameBad.push({ device: this.device.id, point: ticPointName(label), ts: this.now(), value: null, quality: 'bad', reason: code === 'E_TIC_CHECKSUM' ? 'checksum' : 'frame' });
  }

  private emitFrame(mode: TicMode | 'unknown'): void {
    const groups = this.frameGroups;
    const bad = this.frameBad;
    this.frameGroups = [];
    this.frameBad = [];
    if (mode !== 'unknown' && !this.acceptMode(mode)) return;
    const ts = this.now();
    const readings: Reading[] = [...bad];
    const seen = new Set<string>();
    for (const group of groups) {
      if (!this.kept.has(group.label) || seen.has(group.label)) continue;
      seen.add(group.label);
      readings.push(this.readingOf(group, ts));
    }
    if (readings.length === 0 || !this.sink) return;
    for (const r of readings) {
      if (r.quality === 'good') this.counters.readings++;
      else this.counters.badReadings++;
    }
    this.sink(readings);
  }

  private readingOf(group: TicGroup, ts: number): Reading {
    const point = ticPointName(group.label);
    const info = ticLabelInfo(group.label);
    if (!info.numeric) return { device: this.device.id, point, ts, value: group.value, quality: 'good' };
    const value = ticNumericValue(group.label, group.value);
    return value === null
      ? { device: this.device.id, point, ts, value: null, quality: 'bad', reason: 'decode' }
      : { device: this.device.id, point, ts, value, quality: 'good' };
  }

  /** A fixed mode refuses the other mode's frames (a wrong config would mislabel every value). */
  private acceptMode(mode: TicMode): boolean {
    if (this.configuredMode !== 'auto' && mode !== this.configuredMode) {
      if (this.counters.wrongMode++ === 0) {
        this.logger.warn({ device: this.device.id, configured: this.configuredMode, received: mode }, `the meter sends ${mode} frames but tic.mode is ${this.configuredMode}: frames dropped`);
      }
      return false;
    }
    if (this.detected !== mode) {
      this.logger.info({ device: this.device.id, mode, baudRate: this.link.currentBaudRate }, `TIC ${mode} mode detected`);
      this.detected = mode;
    }
    return true;
  }

  private async huntBaud(): Promise<void> {
    if (!this.link.isOpen || this.now() - this.lastValidAt < this.huntMs) return;
    const next = this.link.currentBaudRate === TIC_BAUD.historique ? TIC_BAUD.standard : TIC_BAUD.historique;
    this.counters.baudSwitches++;
    this.lastValidAt = this.now();
    this.logger.info({ device: this.device.id, baudRate: next }, 'no valid TIC group: trying the other baud rate');
    this.decoder.reset();
    await this.link.setBaudRate(next);
  }

  private warnAboutLine(baudRate: number, dataBits: number, parity: string): void {
    if (dataBits !== 7 || parity !== 'even') {
      this.logger.warn({ device: this.device.id }, `TIC is 7 data bits, even parity (7E1); the bus is ${dataBits}${parity[0]?.toUpperCase()}1: expect E_TIC_GROUP errors`);
    }
    const mode = this.configuredMode;
    if (mode !== 'auto' && baudRate !== TIC_BAUD[mode]) {
      this.logger.warn({ device: this.device.id, baudRate }, `TIC ${mode} runs at ${TIC_BAUD[mode]} baud; the bus says ${baudRate}`);
    }
  }
}
