/**
 * modbus-serial's errors mapped to stable reasons, apart from the client so that the bus, which meets
 * them on any line, does not load modbus-serial on a TCP-only gateway.
 */
import { errorMessage } from '../core/errors.js';
import { ModbusFailure } from './modbus-failure.js';
import type { Reception } from './rtu-line-port.js';

/**
 * Maps a modbus-serial error to a reason. `reception` (serial only) tells a silence from a short or
 * garbled reply, and a bad CRC on a real reply from noise that happened to end in two bytes.
 */
export function classifyError(err: unknown, reception?: Reception): ModbusFailure {
  const e = err as { message?: string; errno?: string; code?: string; modbusCode?: number };
  const msg = errorMessage(err);
  if (typeof e?.modbusCode === 'number') return new ModbusFailure('exception', msg, { exceptionCode: e.modbusCode });
  if (e?.errno === 'ETIMEDOUT' || /timed out/i.test(msg)) {
    if (!reception || reception.bytes === 0) return new ModbusFailure('timeout', 'no answer before the timeout', { detail: 'silence' });
    const detail = reception.headerAt >= 0 ? 'short' : 'garbled';
    const what = detail === 'short' ? 'a reply cut short' : 'not a reply';
    return new ModbusFailure('frame', `${reception.bytes} byte(s) came back before the timeout, ${what}`, { detail, timedOut: true });
  }
  if (/crc/i.test(msg)) {
    return reception && reception.headerAt > 0
      ? new ModbusFailure('frame', 'noise on the line, no reply', { detail: 'garbled' })
      : new ModbusFailure('crc', 'reply with a bad CRC');
  }
  if (/data length error/i.test(msg)) return new ModbusFailure('frame', msg, { detail: 'short' });
  if (/unexpected data/i.test(msg)) return new ModbusFailure('frame', msg, { detail: 'garbled' });
  if (/port not open|ECONNRESET|ECONNREFUSED|EPIPE|closed|not open/i.test(msg + (e?.code ?? ''))) return new ModbusFailure('disconnected', msg);
  return new ModbusFailure('frame', msg, { detail: 'garbled' });
}
