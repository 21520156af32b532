/**
 * Line faults the serial simulators can inject, each with a probability per frame (TIC), reply
 * (SDI-12) or line (ASCII): noise bytes before it, the frame cut short, a checksum made wrong.
 * Seeded, so a test run can be replayed.
 */
import { SerialPort } from 'serialport';
import { PasserelleError } from '../core/errors.js';

export interface SerialFaults {
  /** Probability that a burst of random bytes (1-40) precedes a frame/line. */
  readonly noise?: number;
  /** Probability that a frame/line stops partway (its end never sent). */
  readonly cutFrames?: number;
  /** Probability, per group (TIC) or reply (SDI-12 CRC, line value), of a corrupted checksum or value. */
  readonly badChecksums?: number;
}

export interface FaultCounts {
  noiseBursts: number;
  noiseBytes: number;
  cutFrames: number;
  badChecksums: number;
}

export const emptyFaultCounts = (): FaultCounts => ({ noiseBursts: 0, noiseBytes: 0, cutFrames: 0, badChecksums: 0 });

/** xorshift32 in [0, 1): deterministic from the seed. */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

export function checkFaults(f: SerialFaults): void {
  for (const [name, p] of Object.entries(f)) {
    if (p !== undefined && (typeof p !== 'number' || !(p >= 0 && p <= 1))) {
      throw new PasserelleError('E_SIM_FAULTS', `${name} must be a probability from 0 to 1, got ${String(p)}`);
    }
  }
}

export class FaultInjector {
  readonly counts = emptyFaultCounts();

  constructor(
    private readonly faults: SerialFaults,
    readonly random: () => number,
    /** Bytes the noise must not contain (e.g. STX/ETX for TIC: noise that opens a frame is another test). */
    private readonly forbidden: ReadonlySet<number> = new Set(),
  ) {
    checkFaults(faults);
  }

  chance(p: number | undefined): boolean {
    return p !== undefined && p > 0 && this.random() < p;
  }

  /** A noise burst, or an empty buffer. */
  noise(): Buffer {
    if (!this.chance(this.faults.noise)) return Buffer.alloc(0);
    const length = 1 + Math.floor(this.random() * 40);
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      let b = Math.floor(this.random() * 256);
      while (this.forbidden.has(b)) b = (b + 1) & 0xff;
      out[i] = b;
    }
    this.counts.noiseBursts++;
    this.counts.noiseBytes += length;
    return out;
  }

  /** The frame cut at a random point past its first byte, or the frame whole. */
  maybeCut(frame: Buffer): { bytes: Buffer; cut: boolean } {
    if (frame.length < 2 || !this.chance(this.faults.cutFrames)) return { bytes: frame, cut: false };
    this.counts.cutFrames++;
    return { bytes: frame.subarray(0, 1 + Math.floor(this.random() * (frame.length - 1))), cut: true };
  }

  /** Whether to corrupt this group's checksum (counted when true). */
  corruptChecksum(): boolean {
    if (!this.chance(this.faults.badChecksums)) return false;
    this.counts.badChecksums++;
    return true;
  }
}

/** Opens the device side of a pty (or a real port) for a simulator. */
export async function openSimulatorPort(path: string, baudRate: number, dataBits: 7 | 8 = 7, parity: 'none' | 'even' = 'even'): Promise<SerialPort> {
  const port = new SerialPort({ path, baudRate, dataBits, parity, stopBits: 1, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new PasserelleError('E_SIM_PORT', `cannot open ${path}: ${err.message}`)) : resolve())));
  // The gateway side may vanish (test over): a write error must not kill the simulator.
  port.on('error', () => undefined);
  return port;
}

export function closeSimulatorPort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

export const writeAll = (port: SerialPort, bytes: Buffer): Promise<void> =>
  new Promise((resolve) => {
    if (!port.isOpen || bytes.length === 0) return resolve();
    port.write(bytes, () => port.drain(() => resolve()));
  });

/** How long stop() lets the step in progress finish before closing the port under it. */
export const STOP_STEP_WAIT_MS = 250;

/**
 * The loop of a streaming simulator: `step` runs until stop(), `pause` sleeps but wakes at once on stop,
 * and stop() closes the port after the step in progress, or after STOP_STEP_WAIT_MS: when nobody reads
 * the far end, a write (and its drain) never completes, and Ctrl-C must still stop the simulator.
 */
export function runStreamingLoop(
  port: SerialPort,
  step: (pause: (ms: number) => Promise<void>, running: () => boolean) => Promise<void>,
): { stop(): Promise<void> } {
  let running = true;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const loop = (async () => {
    while (running) await step(pause, () => running);
  })();
  return {
    stop: async () => {
      running = false;
      wake?.();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([loop, new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_STEP_WAIT_MS)))]);
      clearTimeout(timer);
      await closeSimulatorPort(port);
    },
  };
}
