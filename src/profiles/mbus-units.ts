/** Converting an M-Bus quantity's base unit to the unit a profile point asks for. */
import { MBUS_QUANTITIES, type MbusQuantity } from './mbus-quantities.js';

/** base unit -> point unit -> factor. Only exact, linear conversions between registered SenML units. */
const CONVERSIONS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  Wh: { Wh: 1, kWh: 0.001, J: 3600 },
  m3: { m3: 1, l: 1000 },
  'm3/s': { 'm3/s': 1, 'l/s': 1000 },
  s: { s: 1, min: 1 / 60, h: 1 / 3600, ms: 1000 },
  W: { W: 1 },
  Cel: { Cel: 1 },
  K: { K: 1 },
  Pa: { Pa: 1, hPa: 0.01 },
  V: { V: 1 },
  A: { A: 1 },
};

/** The factor from the quantity's base unit to `unit`, or an explanation of why it cannot be. */
export function mbusUnitFactor(quantity: MbusQuantity, unit: string | undefined): number | string {
  const base = (MBUS_QUANTITIES[quantity] as { unit?: string }).unit;
  if (base === undefined) return unit === undefined ? 1 : `${quantity} has no physical unit: leave unit out`;
  if (unit === undefined) return `${quantity} is in ${base}: give unit ${Object.keys(CONVERSIONS[base] ?? { [base]: 1 }).join(', ')}`;
  const factor = CONVERSIONS[base]?.[unit];
  return factor ?? `${quantity} is in ${base}; it converts to ${Object.keys(CONVERSIONS[base] ?? { [base]: 1 }).join(', ')}, not ${unit}`;
}
