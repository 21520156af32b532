/**
 * A serial port that will not open, explained to the technician, in one place: the Modbus bus, the line
 * protocol drivers (TIC, SDI-12, ASCII, M-Bus), `scan`, `read`, `mbus` and `doctor` all word it from here.
 * The causes seen on site (adapter unplugged, user not allowed, port held by another program, a path that
 * is not a serial device) each get a stable code and the fix.
 */
import { constants, accessSync, statSync } from 'node:fs';
import { errorMessage } from '../core/errors.js';

export type SerialOpenCode = 'E_SERIAL_NOT_FOUND' | 'E_SERIAL_PERMISSION' | 'E_SERIAL_BUSY' | 'E_SERIAL_NOT_TTY' | 'E_SERIAL_OPEN';

export interface SerialOpenProblem {
  readonly code: SerialOpenCode;
  readonly message: string;
}

const notFound = (path: string): SerialOpenProblem => ({
  code: 'E_SERIAL_NOT_FOUND',
  message: `no such serial port ${path}: is the adapter plugged in? (ls /dev/serial/by-id)`,
});
const permission = (path: string): SerialOpenProblem => ({
  code: 'E_SERIAL_PERMISSION',
  message: `permission denied on ${path}: add the user to the dialout group (sudo usermod -aG dialout $USER, then log in again)`,
});
const notTty = (path: string): SerialOpenProblem => ({ code: 'E_SERIAL_NOT_TTY', message: `${path} is not a serial port (not a character device)` });

export function describeSerialOpenError(path: string, err: unknown): SerialOpenProblem {
  const text = `${errorMessage(err)} ${(err as { code?: string } | undefined)?.code ?? ''}`;
  if (/ENOENT|No such file/i.test(text)) return notFound(path);
  if (/EACCES|EPERM|Permission denied/i.test(text)) return permission(path);
  if (/EBUSY|Cannot lock port|Resource temporarily unavailable|resource busy/i.test(text))
    return {
      code: 'E_SERIAL_BUSY',
      message: `serial port ${path} is busy: another program holds it (is the gateway running? find it with: fuser -v ${path})`,
    };
  if (/Inappropriate ioctl|ENOTTY/i.test(text)) return notTty(path);
  return { code: 'E_SERIAL_OPEN', message: `cannot open serial port ${path}: ${errorMessage(err)}` };
}

/**
 * What is wrong with `path` before opening it, or undefined when it exists, is a character device and this
 * user may read and write it. Cheap (stat + access): tools call it to fail early with the fix.
 */
export function serialPathProblem(path: string): SerialOpenProblem | undefined {
  try {
    if (!statSync(path).isCharacterDevice()) return notTty(path);
    accessSync(path, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (err) {
    return describeSerialOpenError(path, err);
  }
}
