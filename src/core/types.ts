/**
 * The few types every part shares. A reading flows device -> bus -> driver -> pipeline -> store -> uplink;
 * each stage sees only these shapes, never another stage's internals.
 */

/** What a point measures, for the policy: personal and identifier classes never leave the site. */
export const DATA_CLASSES = [
  'energy',
  'environment',
  'comfort',
  'water',
  'heating',
  'occupancy',
  'status',
  'diagnostic',
  'identifier',
  'personal',
] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

/** Classes that never leave the gateway, whatever the site policy says. */
export const NEVER_UPSTREAM: ReadonlySet<DataClass> = new Set<DataClass>(['identifier', 'personal']);

/** gauge: a level (temperature, power); counter: a monotonic index (energy) summarised as consumption. */
export type Measure = 'gauge' | 'counter';

export type Quality = 'good' | 'stale' | 'bad';

/** Why a reading is not good. Stable strings: they are counted per reason in summaries. */
export type BadReason =
  | 'timeout'
  | 'exception'
  | 'crc'
  | 'frame'
  | 'checksum'
  | 'decode'
  | 'range'
  | 'rate'
  | 'stuck'
  | 'stale'
  | 'no-sensor'
  | 'clock';

export interface Reading {
  /** Device id from the site config. */
  readonly device: string;
  /** Point name from the device's profile. */
  readonly point: string;
  /** Sampling time, ms since the Unix epoch. */
  readonly ts: number;
  /** Engineering value after scale and offset; a string for text points (TIC tariff period); null when bad. */
  readonly value: number | string | null;
  readonly quality: Quality;
  readonly reason?: BadReason;
}

export type ReadingSink = (readings: readonly Reading[]) => void;

/** Static facts about a point, resolved once from profile + config. */
export interface PointInfo {
  readonly device: string;
  readonly point: string;
  /** SenML unit, or undefined for dimensionless/text points. */
  readonly unit?: string;
  readonly dataClass: DataClass;
  readonly measure: Measure;
  /** Physical range [min, max] for quality checks. */
  readonly range?: readonly [number, number];
  /**
   * Reported only once a reading of it has arrived: a label kept by default that this meter may never
   * send (a TIC without `labels`), so summaries carry what the meter sends, not count 0 for every label.
   */
  readonly untilSeen?: boolean;
}

export const pointKey = (device: string, point: string): string => `${device}.${point}`;

/** A source of readings (a Modbus device poller, a TIC port, ...). */
export interface Driver {
  readonly id: string;
  start(sink: ReadingSink): Promise<void>;
  stop(): Promise<void>;
  /** Counters for health reporting (requests, timeouts, crc errors, ...). */
  stats(): Record<string, number>;
}

export const STATISTICS = ['count', 'min', 'max', 'mean', 'last', 'delta'] as const;
export type Statistic = (typeof STATISTICS)[number];

export interface PointSummary {
  readonly device: string;
  readonly point: string;
  readonly unit?: string;
  readonly dataClass: DataClass;
  readonly measure: Measure;
  /** Good readings in the window. */
  readonly count: number;
  /** Readings expected from the poll interval (0 when unknown, e.g. push sources). */
  readonly expected: number;
  readonly min?: number;
  readonly max?: number;
  readonly mean?: number;
  readonly last?: number | string;
  /** Counters only: consumption over the window (last - first, resets handled). */
  readonly delta?: number;
  /** Bad readings by reason. */
  readonly bad: Readonly<Partial<Record<BadReason, number>>>;
}

export interface WindowSummary {
  /** Deterministic id (site, gateway, window start): a resend carries the same id. */
  readonly id: string;
  readonly site: string;
  readonly gateway: string;
  /** Window bounds, ms since epoch, [start, end). */
  readonly start: number;
  readonly end: number;
  readonly points: readonly PointSummary[];
  /**
   * Local data dropped since the previous summary (store size caps, disk full), and points of this window
   * cut or left out because one alone exceeded the message bound: reported, never silent.
   */
  readonly drops?: { readonly raw: number; readonly summaries: number; readonly points?: number };
  /** A window the gateway was killed in (crash, power cut), rebuilt at restart from the raw readings in the store. */
  readonly recovered?: RecoveredWindow;
}

/**
 * The interruption inside a recovered window: no reading is known from gapStart (just after the last
 * reading stored before the crash) to gapEnd (the first reading after the restart, or the window end).
 * Readings received but not yet written when the process died, and readings never taken while it was
 * down, cannot be told apart: `lost` estimates both from the poll intervals.
 */
export interface RecoveredWindow {
  /** Readings expected in [gapStart, gapEnd), all points together; 0 when the gap misses this window. */
  readonly lost: number;
  readonly gapStart?: number;
  readonly gapEnd?: number;
}

/** Health figures a site policy may let leave, once per window (see src/uplink/health.ts). */
export const HEALTH_GROUPS = ['buses', 'store', 'drops', 'clock'] as const;
export type HealthGroup = (typeof HEALTH_GROUPS)[number];
