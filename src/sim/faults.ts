/**
 * Misbehaviour a simulator can be told to show, per unit, shared by the RTU and TCP simulators.
 * A fault stays until cleared, except a dropout, which ends by itself after forMs.
 */
export type Fault =
  /** Never answers (a dead or unplugged device). */
  | { readonly kind: 'silent' }
  /** Answers correctly, delayMs later than it should. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Answers every request with this exception code. */
  | { readonly kind: 'exception'; readonly code: number }
  /** RTU: right frame, wrong CRC. TCP: a reply whose MBAP transaction id matches no request. */
  | { readonly kind: 'bad-crc' }
  /** Noise of the reply's length in place of the reply. */
  | { readonly kind: 'garbage' }
  /** RTU: the first half of the reply, then silence. TCP: a truncated PDU in a consistent MBAP frame. */
  | { readonly kind: 'short' }
  /** Silent for forMs from the moment it is set, then answers again. */
  | { readonly kind: 'dropout'; readonly forMs: number };

export type FaultKind = Fault['kind'];

export interface FaultControl {
  set(unit: number, fault: Fault): void;
  clear(unit: number): void;
  /** The fault in force for this unit now; undefined when it behaves (an expired dropout is cleared). */
  active(unit: number): Fault | undefined;
}

/** One entry per unit at most: bounded by the 256 unit ids. */
export function createFaultControl(now: () => number = Date.now): FaultControl {
  const faults = new Map<number, { fault: Fault; since: number }>();
  return {
    set: (unit, fault) => void faults.set(unit, { fault, since: now() }),
    clear: (unit) => void faults.delete(unit),
    active(unit) {
      const entry = faults.get(unit);
      if (entry?.fault.kind === 'dropout' && now() - entry.since >= entry.fault.forMs) {
        faults.delete(unit);
        return undefined;
      }
      return entry?.fault;
    },
  };
}

/** Does the faulty device stay silent? */
export const staysSilent = (fault: Fault | undefined): boolean => fault?.kind === 'silent' || fault?.kind === 'dropout';

/** Extra reply delay the fault adds, in ms. */
export const extraDelayMs = (fault: Fault | undefined): number => (fault?.kind === 'slow' ? fault.delayMs : 0);

/** Longest simulated turnaround, so a slow profile cannot stall tests and demos. */
const MAX_TURNAROUND_MS = 2000;
/** Longest 'slow' fault delay honoured, so a test cannot leave a timer running for hours. */
const MAX_FAULT_DELAY_MS = 60_000;

/** How long a simulated device thinks before answering: its turnaround plus a 'slow' fault, both capped. */
export const processingDelayMs = (turnaroundMs: number, fault: Fault | undefined): number =>
  Math.min(MAX_TURNAROUND_MS, turnaroundMs) + Math.min(MAX_FAULT_DELAY_MS, extraDelayMs(fault));

/** Deterministic noise (xorshift32), so a garbage reply is reproducible from its seed. */
export function noise(length: number, seed: number): Buffer {
  let x = seed >>> 0 || 0x9e3779b9;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The bytes an RTU device sends under `fault` in place of the correct `frame` (CRC included). */
export function corruptRtuFrame(fault: Fault | undefined, frame: Buffer, seed: number): Buffer {
  switch (fault?.kind) {
    case 'bad-crc': {
      const out = Buffer.from(frame);
      out[out.length - 1] = out[out.length - 1]! ^ 0xff;
      return out;
    }
    case 'garbage': {
      const out = noise(frame.length, seed);
      out[0] = (frame[0]! + 1) & 0xff; // never mistaken for a reply from the asked unit
      return out;
    }
    case 'short':
      return frame.subarray(0, Math.max(3, Math.ceil(frame.length / 2)));
    default:
      return frame;
  }
}
