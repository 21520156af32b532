/**
 * Writing a point, the only way Passerelle ever sends a write function code. Safety rules:
 *  - the point must be named in the device's `writable` list in the site config;
 *  - the profile point must be a holding register (function 6, or 16 for two registers) or a coil (5);
 *  - the value must be exactly representable: (value - offset) / scale must be a whole number in the
 *    type's range (never silently rounded: 21.05 with scale 0.1 is refused, not written as 21.0 or 21.1);
 *  - the write goes through the bus scheduler as an on-demand transaction, is never retried, and is
 *    logged (device, point, value; a write carries no secret).
 */
import { PasserelleError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ModbusBus } from '../../bus/modbus-bus.js';
import type { WriteRequest } from '../../bus/modbus-client.js';
import type { Profile, ProfilePoint } from '../../profiles/schema.js';
import { encodeValue, registersFor } from './codec.js';

export interface WritableDevice {
  readonly id: string;
  readonly unit: number;
  readonly profile: Profile;
  /** Point names the site config declares writable; nothing else is ever written. */
  readonly writable: readonly string[];
  readonly bus: ModbusBus;
  readonly logger: Logger;
}

/** Tolerance when checking that a scaled value lands on a whole raw value (floating-point noise). */
const RAW_EPSILON = 1e-6;

export async function writePoint(device: WritableDevice, pointName: string, value: number): Promise<void> {
  const point = device.profile.points.find((p) => p.name === pointName);
  if (!point) throw new PasserelleError('E_WRITE_POINT', `device ${device.id}: profile ${device.profile.id} has no point "${pointName}"`);
  if (!device.writable.includes(pointName))
    throw new PasserelleError('E_WRITE_NOT_ALLOWED', `device ${device.id}: point ${pointName} is not in the device's writable list; nothing was sent`);
  const request = writeRequestFor(device.id, point, value);
  device.logger.info({ device: device.id, point: pointName, value }, 'writing a point');
  await device.bus.write(device.unit, request);
}

/** The Modbus write for `value` on `point`, or an error saying why it cannot be written. Pure. */
export function writeRequestFor(deviceId: string, point: ProfilePoint, value: number): WriteRequest {
  if (point.kind === 'coil') {
    if (value !== 0 && value !== 1) throw new PasserelleError('E_WRITE_VALUE', `device ${deviceId}: coil ${point.name} takes 0 or 1, not ${value}`);
    return { fn: 5, address: point.address, value: value === 1 };
  }
  if (point.kind !== 'holding')
    throw new PasserelleError('E_WRITE_KIND', `device ${deviceId}: point ${point.name} is an ${point.kind} register, which Modbus cannot write`);
  const values = encodeValue(rawOf(deviceId, point, value), point.type, point.order);
  return registersFor(point.type) === 1 ? { fn: 6, address: point.address, values } : { fn: 16, address: point.address, values };
}

/** Inverse of scale and offset; integer types must land on a whole raw value. */
function rawOf(deviceId: string, point: ProfilePoint, value: number): number {
  if (!Number.isFinite(value)) throw new PasserelleError('E_WRITE_VALUE', `device ${deviceId}: ${value} is not a number to write to ${point.name}`);
  const raw = (value - point.offset) / point.scale;
  if (point.type === 'f32') return raw;
  const whole = Math.round(raw);
  if (Math.abs(raw - whole) > RAW_EPSILON)
    throw new PasserelleError(
      'E_WRITE_VALUE',
      `device ${deviceId}: ${value} cannot be written to ${point.name} exactly (steps of ${point.scale}${point.offset ? ` from ${point.offset}` : ''})`,
    );
  return whole;
}
