/**
 * A serial port that will not open, explained to the technician, in this one place for every command
 * and driver (run, scan, read, the serial meters' links): the causes seen on site (adapter unplugged,
 * user not allowed, port held by another program, not a serial port) each get a code and a fix.
 */
import { errorMessage } from '../core/errors.js';

export interface SerialOpenProblem {
  readonly code: 'E_SERIAL_NOT_FOUND' | 'E_SERIAL_PERMISSION' | 'E_SERIAL_BUSY' | 'E_SERIAL_NOT_TTY' | 'E_SERIAL_OPEN';
  readonly message: string;
}

export function describeSerialOpenError(path: string, err: unknown): SerialOpenProblem {
  const e = err as { code?: string } | undefined;
  const text = `${errorMessage(err)} ${e?.code ?? ''}`;
  if (/ENOENT|No such file/i.test(text))
    return { code: 'E_SERIAL_NOT_FOUND', message: `no such serial port ${path}; is the USB adapter plugged in? (ls /dev/serial/by-id)` };
  if (/EACCES|Permission denied/i.test(text))
    return {
      code: 'E_SERIAL_PERMISSION',
      message: `permission denied on ${path}: add your user (or the gateway's) to the dialout group: sudo usermod -aG dialout $USER, then log in again`,
    };
  if (/EBUSY|Cannot lock port|Resource temporarily unavailable|resource busy/i.test(text))
    return { code: 'E_SERIAL_BUSY', message: `serial port ${path} is busy: another program holds it, the gateway perhaps (find it with: fuser -v ${path})` };
  if (/Inappropriate ioctl|ENOTTY/i.test(text)) return { code: 'E_SERIAL_NOT_TTY', message: `${path} is not a serial port` };
  return { code: 'E_SERIAL_OPEN', message: `cannot open serial port ${path}: ${errorMessage(err)}` };
}
