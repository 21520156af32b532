import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlashWriteRate, processWriteBytes } from '../../src/gateway/flash-writes.js';

const io = (writeBytes: number) => `rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 0\nwrite_bytes: ${writeBytes}\ncancelled_write_bytes: 0\n`;

describe('flash writes of the gateway process', () => {
  it('reads write_bytes from /proc/self/io, and nothing where the kernel has no such file', () => {
    expect(processWriteBytes(() => io(123_456))).toBe(123_456);
    expect(processWriteBytes(() => 'rchar: 1\n')).toBeUndefined();
    expect(
      processWriteBytes(() => {
        throw new Error('ENOENT');
      }),
    ).toBeUndefined();
  });

  it('counts this very process writing a file to disk', () => {
    const before = processWriteBytes();
    if (before === undefined) return; // no task I/O accounting on this kernel
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-io-'));
    try {
      writeFileSync(join(dir, 'f'), Buffer.alloc(1 << 20, 1), { flush: true });
      expect(processWriteBytes()! - before).toBeGreaterThanOrEqual(1 << 20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives a daily rate from the first call on, and starts again when the count went down', () => {
    let bytes = 1_000_000;
    let now = 0;
    const rate = new FlashWriteRate(() => bytes, () => now);
    expect(rate.perDay()).toBeUndefined(); // the first call only sets the start
    bytes += 10_000;
    now += 3_600_000;
    expect(rate.perDay()).toBe(240_000);
    bytes = 5;
    expect(rate.perDay()).toBeUndefined();
    expect(new FlashWriteRate(() => undefined, () => now).perDay()).toBeUndefined();
  });
});
