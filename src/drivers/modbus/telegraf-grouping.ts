/**
 * Port of Telegraf's Modbus request grouping, kept only so a benchmark can compare our bus-time planner with
 * the alternative a user would pick. Not used for polling.
 *
 * Source: influxdata/telegraf, plugins/inputs/modbus/request.go (the version with `optimizeGroupWithinLimits`
 * and `groupingParams`), functions groupFieldsToRequests, splitMaxBatchSize ("none"), shrinkGroup
 * ("shrink"), optimizeGroup ("rearrange", "aggressive") and optimizeGroupWithinLimits ("max_insert");
 * default optimization_max_register_fill = 50 from configuration_metric.go. Ported faithfully, quirks
 * included: 16-bit address arithmetic wraps as Go's uint16 does, a field nested in the previous one can
 * SHRINK the request (the new length is measured from the nested field's end), an over-long field is
 * dropped by "none", and fields are never refused-range aware. Callers must check validity of the result.
 * Telegraf's `omit` flag and `enforceFromZero` option have no counterpart here and are left out.
 */
import type { WantedRange } from './planner.js';

export interface TelegrafRequest {
  readonly address: number;
  readonly count: number;
}

export const TELEGRAF_DEFAULT_MAX_REGISTER_FILL = 50;

interface Field {
  readonly address: number;
  readonly length: number;
}

interface Request {
  address: number;
  length: number;
  fields: Field[];
}

/** Go's uint16 arithmetic. */
const u16 = (n: number): number => n & 0xffff;

const newRequest = (f: Field): Request => ({ address: f.address, length: f.length, fields: [f] });
const countRegisters = (requests: readonly Request[]): number => requests.reduce((n, r) => n + r.length, 0);
const toResult = (requests: readonly Request[]): TelegrafRequest[] =>
  requests.map((r) => ({ address: r.address, count: r.length }));

/** optimization = "max_insert": fill holes up to `maxFill` registers to save requests. */
export function telegrafMaxInsert(
  wanted: readonly WantedRange[],
  maxPerRead: number,
  maxFill = TELEGRAF_DEFAULT_MAX_REGISTER_FILL,
): TelegrafRequest[] {
  const fields = consecutiveGroups(wanted).flatMap((g) => g.fields);
  return toResult(optimizeGroupWithinLimits(fields, maxPerRead, maxFill));
}

/** optimization = "none" (Telegraf's default): consecutive fields only, split at the batch size. */
export function telegrafNone(wanted: readonly WantedRange[], maxPerRead: number): TelegrafRequest[] {
  return toResult(consecutiveGroups(wanted).flatMap((g) => splitMaxBatchSize(g, maxPerRead)));
}

/** optimization = "shrink". */
export function telegrafShrink(wanted: readonly WantedRange[], maxPerRead: number): TelegrafRequest[] {
  return toResult(consecutiveGroups(wanted).flatMap((g) => shrinkGroup(g.fields, maxPerRead)));
}

/** optimization = "rearrange": fewer registers at the same request count, within each consecutive group. */
export function telegrafRearrange(wanted: readonly WantedRange[], maxPerRead: number): TelegrafRequest[] {
  return toResult(consecutiveGroups(wanted).flatMap((g) => optimizeGroup(g.fields, maxPerRead)));
}

/** optimization = "aggressive": "rearrange" across all groups at once. */
export function telegrafAggressive(wanted: readonly WantedRange[], maxPerRead: number): TelegrafRequest[] {
  return toResult(optimizeGroup(consecutiveGroups(wanted).flatMap((g) => g.fields), maxPerRead));
}

/** groupFieldsToRequests: sort by address (longest first on ties), chain fields that follow exactly. */
function consecutiveGroups(wanted: readonly WantedRange[]): Request[] {
  const fields = wanted
    .map((w) => ({ address: w.address, length: w.count }))
    .sort((a, b) => a.address - b.address || b.length - a.length);
  const groups: Request[] = [];
  let current: Request | undefined;
  for (const f of fields) {
    if (current !== undefined && current.length > 0 && f.address === u16(current.address + current.length)) {
      current.length = u16(current.length + f.length);
      current.fields.push(f);
      continue;
    }
    if (current !== undefined && current.length > 0) groups.push(current);
    current = newRequest(f);
  }
  if (current !== undefined && current.length > 0) groups.push(current);
  return groups;
}

function optimizeGroupWithinLimits(fields: readonly Field[], maxBatchSize: number, maxExtra: number): Request[] {
  const first = fields[0];
  if (first === undefined) return [];
  const requests: Request[] = [];
  let current = newRequest(first);
  for (let i = 1; i < fields.length; i += 1) {
    const prev = fields[i - 1]!;
    const f = fields[i]!;
    const prevEnd = u16(prev.address + prev.length);
    // Telegraf logs a warning on overlap and treats the hole as empty.
    const holeSize = f.address < prevEnd ? 0 : u16(f.address - prevEnd);
    const needInterrupt = holeSize > maxExtra || u16(current.length + holeSize + f.length) > maxBatchSize;
    if (!needInterrupt) {
      current.length = u16(f.address + f.length - current.address);
      current.fields.push(f);
      continue;
    }
    requests.push(current);
    current = newRequest(f);
  }
  requests.push(current);
  return requests;
}

function shrinkGroup(fields: readonly Field[], maxBatchSize: number): Request[] {
  const requests: Request[] = [];
  let current: Request = { address: 0, length: 0, fields: [] };
  for (const f of fields) {
    if (current.length > 0 && u16(f.address + f.length) <= u16(current.address + maxBatchSize)) {
      current.fields.push(f);
      current.length = u16(f.address - current.address + f.length);
      continue;
    }
    if (current.fields.length > 0) requests.push(current);
    current = newRequest(f);
  }
  if (current.fields.length > 0) requests.push(current);
  return requests;
}

/** Recursive: tries every non-consecutive split point, keeps a split if it has no more requests and fewer registers. */
function optimizeGroup(fields: readonly Field[], maxBatchSize: number): Request[] {
  if (fields.length === 0) return [];
  let requests = shrinkGroup(fields, maxBatchSize);
  let length = countRegisters(requests);
  for (let i = 1; i < fields.length - 1; i += 1) {
    const prev = fields[i - 1]!;
    if (u16(prev.address + prev.length) === fields[i]!.address) continue;
    const current = [
      ...shrinkGroup(fields.slice(0, i), maxBatchSize),
      ...optimizeGroup(fields.slice(i), maxBatchSize),
    ];
    const currentLength = countRegisters(current);
    if (current.length > requests.length || currentLength >= length) continue;
    requests = current;
    length = currentLength;
  }
  return requests;
}

/** splitMaxBatchSize: only split too-large groups at field boundaries. */
function splitMaxBatchSize(g: Request, maxBatchSize: number): Request[] {
  const requests: Request[] = [];
  const groupEnd = u16(g.address + g.length);
  let idx = 0;
  for (let start = g.address; start < groupEnd; ) {
    const current: Request = { address: start, length: 0, fields: [] };
    let end = groupEnd;
    const batchEnd = start >= 0xffff - maxBatchSize ? 0xffff : start + maxBatchSize;
    for (const f of g.fields.slice(idx)) {
      if (u16(f.address + f.length) > batchEnd) break;
      current.fields.push(f);
      end = u16(f.address + f.length);
      idx += 1;
    }
    if (end > groupEnd) end = groupEnd;
    const next = g.fields[idx];
    current.length = next === undefined || next.address >= end ? u16(end - start) : u16(next.address - start);
    start = end;
    if (current.fields.length > 0) requests.push(current);
  }
  return requests;
}
