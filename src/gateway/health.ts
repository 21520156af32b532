/**
 * The compact per-window health message: bus error counts, store size, drops, clock sync. The site
 * policy (`policy.health`) decides which groups leave; none by default.
 */
import type { ModbusBus } from '../bus/modbus-bus.js';
import type { UnitStats } from '../bus/unit-stats.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { Driver, WindowSummary } from '../core/types.js';
import type { Store } from '../store/store.js';
import { windowDeltas } from '../uplink/health.js';
import { buildHealthMessages, healthTopic } from '../uplink/mqtt-uplink.js';
import { FlashWriteRate } from './flash-writes.js';

export class HealthReporter {
  /** Cumulative bus counters at the previous health message, for per-window deltas. */
  private countersAtLast: Record<string, Record<string, number>> = {};
  /** Cumulative serial driver counters at the previous health message. */
  private serialAtLast: Record<string, Record<string, number>> = {};
  private readonly flashWrites: FlashWriteRate;

  constructor(
    private config: Config,
    private readonly logger: Logger,
    /** The gateway's clock guard: trusted once NTP-synchronised (or by site.clock.trust). */
    private readonly clockSynced: () => boolean,
    flashWrites?: FlashWriteRate,
  ) {
    this.flashWrites = flashWrites ?? new FlashWriteRate();
  }

  /** A policy or uplink change in place (Gateway.reconfigure): health groups and topics follow it. */
  reconfigure(config: Config): void {
    this.config = config;
  }

  messages(window: WindowSummary, buses: ReadonlyMap<string, ModbusBus>, store: Store | undefined, serial: readonly Driver[] = []): OutboxMessage[] {
    const { config } = this;
    if (config.policy.health.length === 0) return [];
    try {
      const counters = busCounters(buses);
      const deltas = Object.fromEntries(Object.entries(counters).map(([id, now]) => [id, windowDeltas(this.countersAtLast[id] ?? {}, now)]));
      this.countersAtLast = counters;
      const serialNow = Object.fromEntries(serial.map((d) => [d.id, d.stats()]));
      const serialDeltas = Object.fromEntries(Object.entries(serialNow).map(([id, now]) => [id, windowDeltas(this.serialAtLast[id] ?? {}, now)]));
      this.serialAtLast = serialNow;
      const input = {
        site: config.site.id,
        gateway: config.gateway.id,
        start: window.start,
        end: window.end,
        buses: deltas,
        serial: serialDeltas,
        storeBytes: store?.sizeBytes() ?? 0,
        outboxPending: store?.count() ?? 0,
        outboxRefused: store?.refusedCount() ?? 0,
        flashBytesPerDay: config.policy.health.includes('store') ? this.flashWrites.perDay() : undefined,
        drops: window.drops ?? { raw: 0, summaries: 0 },
        clockSynced: this.clockSynced(),
      };
      const topic = healthTopic(config.uplink.topicPrefix, config.site.id, config.gateway.id);
      return buildHealthMessages(input, config.policy, config.uplink.format, topic, config.uplink.maxMessageBytes);
    } catch (e) {
      this.logger.error({ err: errorMessage(e) }, 'health message not built');
      return [];
    }
  }
}

/** Cumulative counters per bus: its own, plus timeouts, CRC errors and exceptions summed over its units. */
function busCounters(buses: ReadonlyMap<string, ModbusBus>): Record<string, Record<string, number>> {
  return Object.fromEntries(
    [...buses].map(([id, bus]) => {
      const s = bus.stats();
      const units = Object.values(s.units);
      const sum = (of: (u: UnitStats) => number): number => units.reduce((n, u) => n + of(u), 0);
      return [
        id,
        {
          requests: s.transactions,
          failures: s.failures,
          retries: s.retries,
          overflow: s.overflow,
          reconnects: s.reconnects,
          timeouts: sum((u) => u.timeouts),
          crc: sum((u) => u.crc),
          exceptions: sum((u) => Object.values(u.exceptions).reduce((a, b) => a + b, 0)),
        },
      ];
    }),
  );
}
