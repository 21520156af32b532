/**
 * Which protocol a validated device speaks: plain functions, apart from the schema so that a running
 * gateway can use them without loading zod (types only from schema.ts).
 */
import type { Config, DeviceConfig, FlowDeviceConfig, ModbusDeviceConfig } from './schema.js';

export const isModbusDevice = (d: DeviceConfig): d is ModbusDeviceConfig => d.protocol === 'modbus';
export const modbusDevices = (c: Config): ModbusDeviceConfig[] => c.devices.filter(isModbusDevice);
export const isFlowDevice = (d: DeviceConfig): d is FlowDeviceConfig => d.protocol === 'flow' && d.flow !== undefined;

/** A device whose driver owns a serial port itself (TIC, SDI-12, line, M-Bus: drivers/serial). */
export const isSerialProtocolDevice = (d: DeviceConfig): boolean => d.protocol !== 'modbus' && d.protocol !== 'flow';

/** Buses that a serial line protocol owns (no Modbus traffic may go there). */
export function serialProtocolBusIds(config: Config): Set<string> {
  return new Set(config.devices.flatMap((d) => (d.protocol !== 'modbus' && d.bus !== undefined ? [d.bus] : [])));
}
