/**
 * Writes: refused unless declared writable; encoded exactly (never rounded); sent as on-demand
 * transactions; and without `writable` no write function code ever reaches the device.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { decodePoint } from '../../src/drivers/modbus/codec.js';
import { ModbusDeviceDriver } from '../../src/drivers/modbus/modbus-driver.js';
import { writePoint, writeRequestFor, type WritableDevice } from '../../src/drivers/modbus/write.js';
import { profileSchema } from '../../src/profiles/index.js';
import { rtuLine, type RtuLine } from '../bus/rtu-line.js';

const thermostat = profileSchema.parse({
  id: 'thermostat',
  manufacturer: 'Test',
  model: 'Thermostat',
  limits: { turnaroundMs: 0 },
  points: [
    { name: 'setpoint', kind: 'holding', address: 10, type: 'i16', scale: 0.1, class: 'comfort', sim: { base: 20 } },
    { name: 'limit', kind: 'holding', address: 12, type: 'f32', class: 'comfort', sim: { base: 1 } },
    { name: 'relay', kind: 'coil', address: 0, type: 'bool', class: 'status', sim: { base: 0 } },
    { name: 'temperature', kind: 'input', address: 0, type: 'i16', scale: 0.1, class: 'comfort', sim: { base: 19 } },
  ],
});
const point = (name: string) => thermostat.points.find((p) => p.name === name)!;
const WRITE_CODES = [5, 6, 15, 16];
let line: RtuLine | undefined;

afterEach(async () => {
  await line?.close();
  line = undefined;
});

const device = (writable: string[]): WritableDevice => ({ id: 'thermo', unit: 1, profile: thermostat, writable, bus: line!.bus, logger: silentLogger() });

describe('writeRequestFor', () => {
  it('encodes any representable value so that reading it back decodes the same', () => {
    fc.assert(
      fc.property(fc.integer({ min: -0x8000, max: 0x7fff }), (raw) => {
        const value = Number((raw * 0.1).toFixed(1));
        const request = writeRequestFor('d', point('setpoint'), value);
        expect(request.fn).toBe(6);
        expect(decodePoint('values' in request ? [...request.values] : [], point('setpoint')).value).toBe(value);
      }),
    );
  });

  it('refuses values it would have to round, out of range, or on read-only kinds', () => {
    expect(() => writeRequestFor('d', point('setpoint'), 21.05)).toThrow(expect.objectContaining({ code: 'E_WRITE_VALUE' }));
    expect(() => writeRequestFor('d', point('setpoint'), 4000)).toThrow(expect.objectContaining({ code: 'E_ENCODE_RANGE' }));
    expect(() => writeRequestFor('d', point('relay'), 2)).toThrow(expect.objectContaining({ code: 'E_WRITE_VALUE' }));
    expect(() => writeRequestFor('d', point('temperature'), 20)).toThrow(expect.objectContaining({ code: 'E_WRITE_KIND' }));
    expect(writeRequestFor('d', point('limit'), 1.5)).toMatchObject({ fn: 16, address: 12 });
    expect(writeRequestFor('d', point('relay'), 1)).toEqual({ fn: 5, address: 0, value: true });
  });
});

describe('writePoint over an RTU line', () => {
  it('never sends a write function code for a point not declared writable, while polling goes on', async () => {
    line = await rtuLine([{ unit: 1, profile: thermostat }], { baud: 38400 });
    const poller = new ModbusDeviceDriver({
      deviceId: 'thermo', unit: 1, pollMs: 100, profile: thermostat, points: thermostat.points,
      bus: line.bus, timing: { kind: 'rtu', baud: 38400 }, logger: silentLogger(),
    });
    await poller.start(() => undefined);
    for (const name of ['setpoint', 'relay', 'limit', 'temperature'])
      await expect(writePoint(device([]), name, 1)).rejects.toMatchObject({ code: 'E_WRITE_NOT_ALLOWED' });
    await expect(writePoint(device(['temperature']), 'temperature', 1)).rejects.toMatchObject({ code: 'E_WRITE_KIND' });
    await new Promise((r) => setTimeout(r, 300));
    await poller.stop();
    const codes = Object.keys(line.sim.stats().functionCodes).map(Number);
    expect(codes.length).toBeGreaterThan(0);
    expect(codes.filter((c) => WRITE_CODES.includes(c))).toEqual([]);
  });

  it('writes a declared point through the bus, and the device serves the new value', async () => {
    line = await rtuLine([{ unit: 1, profile: thermostat }], { baud: 38400 });
    await writePoint(device(['setpoint', 'relay', 'limit']), 'setpoint', 21.5);
    await writePoint(device(['setpoint', 'relay', 'limit']), 'relay', 1);
    await writePoint(device(['setpoint', 'relay', 'limit']), 'limit', 2.25);
    const bank = line.sim.banks.get(1)!;
    expect(bank.expectedValue('setpoint', Date.now())).toBe(21.5);
    expect(bank.expectedValue('relay', Date.now())).toBe(1);
    expect(bank.expectedValue('limit', Date.now())).toBe(2.25);
    expect(line.sim.stats().functionCodes).toEqual({ 6: 1, 5: 1, 16: 1 });
  });

  it('is not retried when the device does not answer (it may have applied it)', async () => {
    line = await rtuLine([{ unit: 1, profile: thermostat }], { baud: 38400, retries: 2, timeoutMs: 100 });
    line.sim.faults.set(1, { kind: 'silent' });
    await expect(writePoint(device(['setpoint']), 'setpoint', 20)).rejects.toMatchObject({ reason: 'timeout' });
    expect(line.sim.stats().functionCodes).toEqual({ 6: 1 });
  });
});
