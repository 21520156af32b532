/**
 * What the gateway hands the bridge: functions, never its internals (ARCHITECTURE.md). The bridge checks
 * the shape of each request; the host decides what is allowed (writable points, declared virtual points)
 * and throws a PasserelleError with a stable code when it is not.
 */
import type { Reading, WindowSummary } from '../core/types.js';

export interface RegisterRead {
  readonly bus: string;
  readonly unit: number;
  readonly fn: 1 | 2 | 3 | 4;
  readonly address: number;
  readonly count: number;
}

export interface PointValue {
  readonly device: string;
  readonly point: string;
  readonly value: number | null;
  readonly ts: number;
}

export interface BridgeListener {
  readings(readings: readonly Reading[]): void;
  summary(summary: WindowSummary): void;
}

export interface BridgeHost {
  /** On-demand read of raw registers through the line's ModbusBus (demand priority). */
  readRegisters(req: RegisterRead): Promise<number[]>;
  /** On-demand read of one profile point of a Modbus device, decoded. */
  readPoint(device: string, point: string): Promise<PointValue>;
  /** Write of a point the site config declares writable: logged, never retried. */
  writePoint(device: string, point: string, value: number): Promise<void>;
  /** A flow-computed value for a declared point of a `protocol: flow` device: enters the pipeline. */
  virtualPoint(device: string, point: string, value: number, ts: number): void;
  /** Readings (after quality checks) and closed window summaries, as they happen; returns the unsubscribe. */
  listen(listener: BridgeListener): () => void;
}
