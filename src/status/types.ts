/**
 * The one narrow interface between the gateway and the status page: the gateway hands the page a
 * read-only snapshot provider and an event feed. The page imports only `core` and `config` types.
 */
import type { DataClass, Quality } from '../core/types.js';

export interface StatusLine {
  readonly id: string;
  readonly requests: number;
  readonly queued: number;
  /** Per unit: error counts by reason (timeouts, crc, exceptions, ...), only the non-zero ones. */
  readonly errors: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface StatusPoint {
  readonly key: string;
  readonly unit?: string;
  readonly dataClass: DataClass;
  readonly value?: number | string | null;
  readonly quality?: Quality;
  readonly reason?: string;
  /** ms since epoch of the last reading. */
  readonly ts?: number;
}

/** A summary exactly as it left: topic, time of the broker's PUBACK, size, and the payload as text. */
export interface StatusSent {
  readonly topic: string;
  readonly at: number;
  readonly bytes: number;
  /** The payload (SenML JSON as sent; CBOR shown decoded, with `format` saying so). */
  readonly payload: string;
  readonly format: 'senml-json' | 'senml-cbor';
}

export interface StatusSnapshot {
  readonly site: string;
  readonly gateway: string;
  readonly now: number;
  readonly lines: readonly StatusLine[];
  /** Serial meters' counters (checksum errors, reopens, noise, ...), by device. */
  readonly serial: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly points: readonly StatusPoint[];
  /** The window being filled: good readings so far over those expected by now (null: nothing expected). */
  readonly window: { readonly start: number; readonly end: number; readonly completeness: number | null };
  readonly outbox: { readonly pending: number; readonly refused: number; readonly lastDeliveryAt?: number };
  readonly store: { readonly bytes: number; readonly retentionDays: Readonly<Record<string, number>>; readonly drops: { readonly raw: number; readonly summaries: number } };
  readonly clock: { readonly trusted: boolean; readonly held: number };
  /** What left the building: the last summaries as sent. */
  readonly sent: readonly StatusSent[];
  /** What stayed local: the last closed window's every point and statistic (values shown here, never sent). */
  readonly local?: { readonly start: number; readonly points: readonly Readonly<Record<string, unknown>>[] };
  /** Last hour per numeric point: [times (s), values]. */
  readonly history: Readonly<Record<string, readonly [readonly number[], readonly (number | null)[]]>>;
}

/** Something changed: the page refreshes (at most once a second). */
export type StatusEvent = 'readings' | 'window' | 'sent';

export interface StatusSource {
  snapshot(): StatusSnapshot;
  /** Returns the unsubscribe function. The source calls listeners synchronously, cheaply. */
  subscribe(listener: (event: StatusEvent) => void): () => void;
}
