/**
 * The gateway's own flash writes, from the kernel's count (`write_bytes` of /proc/self/io: bytes this
 * process sent to storage), as a daily rate for the health message: the fleet's SD card wear.
 */
import { readFileSync } from 'node:fs';

const DAY_MS = 86_400_000;

/** `write_bytes` of /proc/self/io, or undefined where the kernel does not give it (not Linux, no task I/O accounting). */
export function processWriteBytes(io: () => string = () => readFileSync('/proc/self/io', 'latin1')): number | undefined {
  try {
    const match = /^write_bytes:\s*(\d+)$/m.exec(io());
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bytes per day written since the first call (steady state: the store's creation and the start are not
 * in the rate). The first call, and every call where the kernel gives no count, return undefined.
 */
export class FlashWriteRate {
  private since?: { at: number; bytes: number };

  constructor(
    private readonly writeBytes: () => number | undefined = processWriteBytes,
    private readonly now: () => number = Date.now,
  ) {}

  perDay(): number | undefined {
    const bytes = this.writeBytes();
    const at = this.now();
    if (bytes === undefined) return undefined;
    if (this.since === undefined || bytes < this.since.bytes) {
      this.since = { at, bytes };
      return undefined;
    }
    const elapsed = at - this.since.at;
    return elapsed > 0 ? Math.round(((bytes - this.since.bytes) * DAY_MS) / elapsed) : undefined;
  }
}
