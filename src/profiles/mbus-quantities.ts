/**
 * What an M-Bus data record measures (EN 13757-3 VIF tables), named once for decoders, profiles and
 * point names. Each quantity has ONE base unit the decoder scales every VIF variant to (energy in J
 * or MWh becomes Wh, flow in m3/h becomes m3/s), a default data class for the generic profile, and a
 * description a technician recognises (close to libmbus's wording).
 */
import type { DataClass } from '../core/types.js';
import type { SenmlUnit } from '../core/units.js';

export interface MbusQuantityInfo {
  readonly unit?: SenmlUnit;
  readonly dataClass: DataClass;
  readonly description: string;
  /** A counter by nature (the generic profile summarises it as consumption). */
  readonly counter?: boolean;
}

const q = (description: string, dataClass: DataClass, unit?: SenmlUnit, counter?: boolean): MbusQuantityInfo => ({
  description,
  dataClass,
  ...(unit ? { unit } : {}),
  ...(counter ? { counter } : {}),
});

export const MBUS_QUANTITIES = {
  energy: q('Energy', 'energy', 'Wh', true),
  volume: q('Volume', 'water', 'm3', true),
  mass: q('Mass (kg)', 'diagnostic', undefined, true),
  on_time: q('On time', 'diagnostic', 's', true),
  operating_time: q('Operating time', 'diagnostic', 's', true),
  power: q('Power', 'energy', 'W'),
  volume_flow: q('Volume flow', 'water', 'm3/s'),
  mass_flow: q('Mass flow (kg/h)', 'diagnostic'),
  flow_temperature: q('Flow temperature', 'heating', 'Cel'),
  return_temperature: q('Return temperature', 'heating', 'Cel'),
  temperature_difference: q('Temperature difference', 'heating', 'K'),
  external_temperature: q('External temperature', 'environment', 'Cel'),
  temperature_limit: q('Temperature limit', 'heating', 'Cel'),
  pressure: q('Pressure', 'heating', 'Pa'),
  date: q('Time point (date)', 'diagnostic'),
  date_time: q('Time point (date & time)', 'diagnostic'),
  hca: q('Units for heat cost allocator', 'heating', undefined, true),
  averaging_duration: q('Averaging duration', 'diagnostic', 's'),
  actuality_duration: q('Actuality duration', 'diagnostic', 's'),
  fabrication_number: q('Fabrication number', 'identifier'),
  enhanced_identification: q('Enhanced identification', 'identifier'),
  bus_address: q('Bus address', 'diagnostic'),
  credit: q('Credit (local currency)', 'personal'),
  debit: q('Debit (local currency)', 'personal'),
  access_number: q('Access number', 'diagnostic'),
  medium: q('Medium', 'diagnostic'),
  manufacturer: q('Manufacturer', 'diagnostic'),
  parameter_set: q('Parameter set identification', 'diagnostic'),
  model_version: q('Model/version', 'diagnostic'),
  hardware_version: q('Hardware version', 'diagnostic'),
  firmware_version: q('Firmware version', 'diagnostic'),
  software_version: q('Software version', 'diagnostic'),
  customer_location: q('Customer location', 'identifier'),
  customer: q('Customer', 'identifier'),
  access_code: q('Access code', 'identifier'),
  password: q('Password', 'identifier'),
  error_flags: q('Error flags', 'status'),
  error_mask: q('Error mask', 'status'),
  digital_output: q('Digital output', 'status'),
  digital_input: q('Digital input', 'status'),
  baud_rate: q('Baud rate', 'diagnostic'),
  response_delay: q('Response delay time (bit times)', 'diagnostic'),
  retry: q('Retry', 'diagnostic'),
  storage_interval: q('Storage interval', 'diagnostic'),
  duration_since_readout: q('Duration since last readout', 'diagnostic', 's'),
  tariff_start: q('Start of tariff (date & time)', 'diagnostic'),
  tariff_duration: q('Duration of tariff', 'diagnostic', 's'),
  tariff_period: q('Period of tariff', 'diagnostic', 's'),
  dimensionless: q('Dimensionless', 'diagnostic'),
  voltage: q('Voltage', 'energy', 'V'),
  current: q('Current', 'energy', 'A'),
  reset_counter: q('Reset counter', 'diagnostic', undefined, true),
  cumulation_counter: q('Cumulation counter', 'diagnostic', undefined, true),
  control_signal: q('Control signal', 'status'),
  day_of_week: q('Day of week', 'diagnostic'),
  week_number: q('Week number', 'diagnostic'),
  battery_time: q('Operating time battery', 'diagnostic', 's', true),
  battery_change: q('Date and time of battery change', 'diagnostic'),
  plain_text: q('Plain-text unit', 'diagnostic'),
  manufacturer_specific: q('Manufacturer specific', 'diagnostic'),
  unknown: q('Unknown VIF', 'diagnostic'),
} as const satisfies Record<string, MbusQuantityInfo>;

export type MbusQuantity = keyof typeof MBUS_QUANTITIES;
export const MBUS_QUANTITY_NAMES = Object.keys(MBUS_QUANTITIES) as MbusQuantity[];

/** Record functions (DIF bits 4-5). */
export const MBUS_FUNCTIONS = ['instantaneous', 'maximum', 'minimum', 'error'] as const;
export type MbusFunction = (typeof MBUS_FUNCTIONS)[number];
