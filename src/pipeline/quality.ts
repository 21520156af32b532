/**
 * Reading quality checks (foundation: the physical range). Rate of change, stuck values and
 * staleness come later, each as a small function of the same shape.
 */
import type { PointInfo, Reading } from '../core/types.js';

/**
 * A good numeric reading outside info.range [min, max] (bounds included as valid) becomes bad with
 * reason `range`; its value becomes null, as for every bad reading. Anything else passes unchanged.
 * NaN is outside every range.
 */
export function checkRange(reading: Reading, info: PointInfo): Reading {
  if (reading.quality !== 'good' || typeof reading.value !== 'number' || !info.range) return reading;
  const [min, max] = info.range;
  if (reading.value >= min && reading.value <= max) return reading;
  return { ...reading, value: null, quality: 'bad', reason: 'range' };
}
