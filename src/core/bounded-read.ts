/**
 * Reads a file, a device or a FIFO without trusting its size: stat() says 0 for /dev/urandom or a pipe,
 * so a cap on stat().size bounds nothing. At most `max` bytes are read, whatever the file is.
 */
import { isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';

export interface BoundedRead {
  readonly bytes: Buffer;
  /** More bytes followed the first `max`: the input is over the cap. */
  readonly overCap: boolean;
}

const CHUNK_BYTES = 64 * 1024;

export async function readAtMost(file: string, max: number): Promise<BoundedRead> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    // One byte past the cap tells "exactly max" from "more than max".
    while (total <= max) {
      const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, max + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    const bytes = Buffer.concat(chunks, total);
    return { bytes: bytes.subarray(0, Math.min(total, max)), overCap: total > max };
  } finally {
    await handle.close();
  }
}

/**
 * Text a technician could open in an editor: valid UTF-8 without NUL bytes. `cut`: the bytes stop at a
 * cap, so a character split there is not held against them.
 */
export function isText(bytes: Uint8Array, cut = false): boolean {
  if (bytes.includes(0)) return false;
  if (!cut) return isUtf8(bytes);
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true });
    return true;
  } catch {
    return false;
  }
}
