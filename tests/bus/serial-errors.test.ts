import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeSerialOpenError, serialPathProblem } from '../../src/bus/serial-errors.js';
import { createPtyPair, type PtyPair } from '../../src/sim/pty.js';
import { explainOpenError } from '../../src/drivers/serial/serial-link.js';
import { explainOpenFailure } from '../../src/drivers/modbus/scan.js';

describe('a serial port that fails to open is explained in one place', () => {
  let pair: PtyPair | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await pair?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    pair = dir = undefined;
  });

  it('the Modbus bus, the line drivers and scan word each cause the same way', () => {
    const serial = { type: 'serial', port: '/dev/ttyUSB0', baud: 9600, parity: 'none', dataBits: 8, stopBits: 1 } as const;
    for (const raw of ['Error: No such file or directory, cannot open /dev/ttyUSB0', 'Error: Permission denied', 'Cannot lock port', 'Inappropriate ioctl for device', 'odd']) {
      const one = describeSerialOpenError('/dev/ttyUSB0', new Error(raw));
      expect(explainOpenError('/dev/ttyUSB0', new Error(raw))).toBe(one.message);
      const scan = explainOpenFailure(serial, new Error(raw));
      expect([scan.code, scan.message]).toEqual([one.code, one.message]);
    }
  });

  it('checks a path before opening: missing, not a device, fine', async () => {
    expect(serialPathProblem('/dev/ttyUSB-passerelle-missing')?.code).toBe('E_SERIAL_NOT_FOUND');
    dir = await mkdtemp(join(tmpdir(), 'passerelle-serial-'));
    await writeFile(join(dir, 'plain'), '');
    expect(serialPathProblem(join(dir, 'plain'))).toMatchObject({ code: 'E_SERIAL_NOT_TTY', message: expect.stringContaining('not a serial port') });
    pair = await createPtyPair();
    expect(serialPathProblem(pair.a)).toBeUndefined();
  });
});
