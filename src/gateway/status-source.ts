/**
 * What the gateway shows its status page (src/status): it keeps the last reading per point, a bounded
 * last hour per numeric point and the last summaries sent, and builds a snapshot only when a page asks.
 * Built only when `status:` is configured.
 */
import type { Config } from '../config/schema.js';
import type { Driver, PointInfo, Reading, WindowSummary } from '../core/types.js';
import { pointKey } from '../core/types.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { ModbusBus } from '../bus/modbus-bus.js';
import type { Store } from '../store/store.js';
import type { StatusEvent, StatusSent, StatusSnapshot, StatusSource } from '../status/types.js';
import { decodeSenml } from '../uplink/senml.js';

const HOUR_MS = 3_600_000;
/** Per point: one sample per 10 s at most over the last hour. */
const HISTORY_STEP_MS = 10_000;
const HISTORY_MAX = HOUR_MS / HISTORY_STEP_MS;
const SENT_KEPT = 8;
/** Charts for the first this many numeric points: a page of small charts, a snapshot of tens of kB. */
const MAX_CHARTS = 12;
const DAY_MS = 86_400_000;

export interface StatusParts {
  readonly config: Config;
  readonly points: readonly PointInfo[];
  readonly expectedPerWindow: ReadonlyMap<string, number>;
  readonly buses: ReadonlyMap<string, ModbusBus>;
  readonly serial: readonly Driver[];
  readonly store: () => Store | undefined;
  readonly clock: () => { trusted: boolean; held: number };
}

export class GatewayStatus implements StatusSource {
  private readonly last = new Map<string, Reading>();
  private readonly history = new Map<string, { t: number[]; v: (number | null)[] }>();
  private readonly sent: (Omit<StatusSent, 'payload'> & { raw: Buffer })[] = [];
  private local?: WindowSummary;
  private lastDeliveryAt?: number;
  private windowGood = new Map<string, number>();
  private windowStart = 0;
  private readonly listeners = new Set<(e: StatusEvent) => void>();

  constructor(private readonly parts: StatusParts) {}

  subscribe(listener: (e: StatusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  noteReadings(readings: readonly Reading[]): void {
    const windowMs = this.parts.config.aggregation.window;
    for (const r of readings) {
      const key = pointKey(r.device, r.point);
      this.last.set(key, r);
      const start = Math.floor(r.ts / windowMs) * windowMs;
      if (start > this.windowStart) {
        this.windowStart = start;
        this.windowGood = new Map();
      }
      if (start === this.windowStart && r.quality === 'good') this.windowGood.set(key, (this.windowGood.get(key) ?? 0) + 1);
      if ((typeof r.value === 'number' || r.value === null) && (this.history.has(key) || this.history.size < MAX_CHARTS)) this.addHistory(key, r);
    }
    this.emit('readings');
  }

  noteWindow(summary: WindowSummary): void {
    this.local = summary;
    this.emit('window');
  }

  noteSent(message: OutboxMessage, bytes: number): void {
    this.lastDeliveryAt = Date.now();
    const format = this.parts.config.uplink.format;
    if (this.sent.length >= SENT_KEPT) this.sent.shift();
    this.sent.push({ topic: message.topic, at: this.lastDeliveryAt, bytes, format, raw: message.payload });
    this.emit('sent');
  }

  snapshot(): StatusSnapshot {
    const { config } = this.parts;
    const store = this.parts.store();
    const now = Date.now();
    const windowMs = config.aggregation.window;
    const elapsed = Math.min(1, Math.max(0, (now - this.windowStart) / windowMs));
    let expected = 0;
    let good = 0;
    for (const [key, n] of this.parts.expectedPerWindow) {
      expected += n * elapsed;
      good += this.windowGood.get(key) ?? 0;
    }
    return {
      site: config.site.id,
      gateway: config.gateway.id,
      now,
      lines: [...this.parts.buses].map(([id, bus]) => {
        const s = bus.stats();
        return {
          id,
          requests: s.transactions,
          queued: s.queued,
          errors: Object.fromEntries(
            Object.entries(s.units)
              .map(([unit, u]) => [
                unit,
                nonZero({ timeouts: u.timeouts, crc: u.crc, short: u.short, garbled: u.garbled, disconnected: u.disconnected, unavailable: u.unavailable, ...prefixed('exception ', u.exceptions) }),
              ] as const)
              .filter(([, errors]) => Object.keys(errors).length > 0),
          ),
        };
      }),
      serial: Object.fromEntries(this.parts.serial.map((d) => [d.id, d.stats()])),
      points: this.parts.points.map((p) => {
        const key = pointKey(p.device, p.point);
        const r = this.last.get(key);
        return {
          key, dataClass: p.dataClass, ...(p.unit !== undefined && { unit: p.unit }),
          ...(r && { value: r.value, quality: r.quality, ts: r.ts, ...(r.reason !== undefined && { reason: r.reason }) }),
        };
      }),
      window: { start: this.windowStart, end: this.windowStart + windowMs, completeness: expected > 0 ? Math.min(1, good / expected) : null },
      outbox: { pending: quietly(() => store?.count()) ?? 0, refused: quietly(() => store?.refusedCount()) ?? 0, ...(this.lastDeliveryAt !== undefined && { lastDeliveryAt: this.lastDeliveryAt }) },
      store: {
        bytes: quietly(() => store?.sizeBytes()) ?? 0,
        retentionDays: Object.fromEntries(Object.entries(config.store.retention ?? {}).map(([c, ms]) => [c, Math.round((ms as number) / DAY_MS)])),
        drops: { raw: 0, summaries: 0, ...(this.local?.drops ?? {}) },
      },
      clock: this.parts.clock(),
      sent: this.sent.map(({ raw, ...m }) => ({ ...m, payload: payloadText(raw, m.format) })),
      ...(this.local && { local: { start: this.local.start, points: this.local.points.map((p) => ({ ...p })) } }),
      history: Object.fromEntries([...this.history].map(([k, h]) => [k, [h.t.map((t) => Math.round(t / 1000)), h.v]])),
    };
  }

  private addHistory(key: string, r: Reading): void {
    let h = this.history.get(key);
    if (!h) this.history.set(key, (h = { t: [], v: [] }));
    if (h.t.length > 0 && r.ts - h.t[h.t.length - 1]! < HISTORY_STEP_MS) return;
    h.t.push(r.ts);
    h.v.push(r.quality === 'bad' ? null : (r.value as number | null));
    while (h.t.length > HISTORY_MAX || (h.t.length > 0 && h.t[0]! < r.ts - HOUR_MS)) {
      h.t.shift();
      h.v.shift();
    }
  }

  private emit(e: StatusEvent): void {
    for (const l of this.listeners) l(e);
  }
}

function nonZero(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

function prefixed(prefix: string, counts: Record<number, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [`${prefix}${k}`, n]));
}

function quietly<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** The payload as sent: SenML JSON is its own text; CBOR is shown decoded (the page says so). */
function payloadText(payload: Buffer, format: 'senml-json' | 'senml-cbor'): string {
  if (format === 'senml-json') return payload.toString('utf8');
  try {
    return JSON.stringify(decodeSenml(payload, format));
  } catch {
    return payload.toString('hex');
  }
}
