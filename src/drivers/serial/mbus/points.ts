/**
 * From decoded records to a profile's points: each point names the record it takes (quantity,
 * function, storage, tariff, subunit) and the unit it wants. The generic profile names every record
 * from what it is, so `read --mbus` shows names a site config can list.
 */
import type { DataClass, Measure } from '../../../core/types.js';
import { PasserelleError } from '../../../core/errors.js';
import { MBUS_FUNCTIONS, MBUS_QUANTITIES, MBUS_QUANTITY_NAMES, type MbusProfile, type MbusQuantity, type MbusRecordSelector, mbusUnitFactor } from '../../../profiles/index.js';
import { recordDataClass } from './classify.js';
import type { MbusRecord } from './telegram.js';

export interface MbusPoint {
  readonly name: string;
  readonly selector: MbusRecordSelector;
  readonly unit?: string;
  /** From the quantity's base unit to the point's unit. */
  readonly factor: number;
  readonly dataClass: DataClass;
  readonly measure: Measure;
  readonly range?: readonly [number, number];
}

/** energy, volume_s1, power_maximum, energy_t2_u1...: quantity, then what differs from "now, tariff 0, subunit 0". */
export function mbusGenericPointName(r: Pick<MbusRecord, 'quantity' | 'function' | 'storage' | 'tariff' | 'subunit'>): string {
  return [
    r.quantity,
    r.function === 'instantaneous' ? '' : `_${r.function}`,
    r.storage ? `_s${r.storage}` : '',
    r.tariff ? `_t${r.tariff}` : '',
    r.subunit ? `_u${r.subunit}` : '',
  ].join('');
}

const GENERIC_NAME = new RegExp(`^(${MBUS_QUANTITY_NAMES.join('|')})(?:_(maximum|minimum|error))?(?:_s(\\d+))?(?:_t(\\d+))?(?:_u(\\d+))?$`);

/** The record a generic point name stands for, or undefined when the name is not one. */
export function parseGenericPointName(name: string): MbusRecordSelector | undefined {
  const m = GENERIC_NAME.exec(name);
  if (!m) return undefined;
  const quantity = m[1] as MbusQuantity;
  if (quantity === 'plain_text' || quantity === 'manufacturer_specific' || quantity === 'unknown') return undefined;
  return { quantity, function: (m[2] as (typeof MBUS_FUNCTIONS)[number] | undefined) ?? 'instantaneous', storage: Number(m[3] ?? 0), tariff: Number(m[4] ?? 0), subunit: Number(m[5] ?? 0) };
}

/** The points of a device: the profile's (all, or those named), or for the generic profile the names given. */
export function mbusPoints(deviceId: string, profile: MbusProfile, names: readonly string[] | undefined): MbusPoint[] {
  if (profile.generic) {
    if (!names || names.length === 0) {
      throw new PasserelleError('E_CONFIG_POINTS', `device ${deviceId}: the generic M-Bus profile needs the points to read in "points" (passerelle read --mbus lists a meter's names)`);
    }
    return names.map((name) => {
      const selector = parseGenericPointName(name);
      if (!selector) throw new PasserelleError('E_CONFIG_POINTS', `device ${deviceId}: "${name}" is no generic M-Bus point name (quantity[_maximum|_minimum|_error][_sN][_tN][_uN], e.g. energy, volume_s1)`);
      const info = MBUS_QUANTITIES[selector.quantity] as { unit?: string; dataClass: DataClass; counter?: boolean };
      return { name, selector, ...(info.unit ? { unit: info.unit } : {}), factor: 1, dataClass: recordDataClass(selector), measure: info.counter && selector.storage === 0 ? 'counter' : 'gauge' };
    });
  }
  const chosen = names ? profile.points.filter((p) => names.includes(p.name)) : profile.points;
  if (names) {
    const missing = names.filter((n) => !profile.points.some((p) => p.name === n));
    if (missing.length > 0) throw new PasserelleError('E_CONFIG_POINTS', `device ${deviceId}: profile ${profile.id} has no point ${missing.map((n) => `"${n}"`).join(', ')}`);
  }
  return chosen.map((p) => {
    const factor = mbusUnitFactor(p.record.quantity, p.unit);
    if (typeof factor === 'string') throw new PasserelleError('E_PROFILE_INVALID', `profile ${profile.id}, point ${p.name}: ${factor}`);
    return { name: p.name, selector: p.record, ...(p.unit ? { unit: p.unit } : {}), factor, dataClass: p.class, measure: p.measure, ...(p.range ? { range: p.range } : {}) };
  });
}

/**
 * The record a selector picks: same quantity and position, and (plain text) label. Records whose
 * extensions change the meaning ("per input pulse") are taken only when no plain one exists.
 */
export function findRecord(records: readonly MbusRecord[], s: MbusRecordSelector): MbusRecord | undefined {
  const same = records.filter(
    (r) => r.quantity === s.quantity && r.function === s.function && r.storage === s.storage && r.tariff === s.tariff && r.subunit === s.subunit && (s.plainText === undefined || r.plainText === s.plainText),
  );
  return same.find((r) => r.modifiers.length === 0) ?? same[0];
}

/** A point's value from its record: the base unit converted, or why there is none. */
export function pointValue(point: MbusPoint, record: MbusRecord | undefined): number | string | null {
  if (!record || record.value === null || record.errorCode !== undefined) return null;
  if (typeof record.value === 'string') return point.unit ? null : record.value;
  return point.factor === 1 ? record.value : Number((record.value * point.factor).toPrecision(12));
}
