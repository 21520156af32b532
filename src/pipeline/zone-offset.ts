/**
 * UTC offset of an IANA time zone at an instant: from the system's tzdata (core/zone-table.ts), else from
 * Intl, whose first formatter loads about 8 MB of ICU data into the process.
 * Offsets are whole seconds: Intl formats to the second, and every tzdata transition falls on one.
 */
import { PasserelleError } from '../core/errors.js';
import { readZoneTable, tableOffset, type ZoneTable } from '../core/zone-table.js';

/** One formatter per zone; a site uses one zone, so the bound is generous. At the bound the cache is emptied. */
const MAX_CACHED_ZONES = 16;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** tzdata's table per zone (null: none, ask Intl); a site uses one zone. */
const tables = new Map<string, ZoneTable | null>();

function tableFor(timeZone: string): ZoneTable | null {
  let table = tables.get(timeZone);
  if (table === undefined) {
    if (tables.size >= MAX_CACHED_ZONES) tables.clear();
    table = readZoneTable(timeZone) ?? null;
    tables.set(timeZone, table);
  }
  return table;
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  const cached = formatters.get(timeZone);
  if (cached) return cached;
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch (cause) {
    const message = `unknown time zone "${timeZone}" (write an IANA name such as Europe/Paris)`;
    throw new PasserelleError('E_TIMEZONE', message, false, { cause });
  }
  if (formatters.size >= MAX_CACHED_ZONES) formatters.clear();
  formatters.set(timeZone, formatter);
  return formatter;
}

/** Throws E_TIMEZONE when the zone is unknown to both tzdata and this Node's ICU. */
export function assertTimeZone(timeZone: string): void {
  if (!tableFor(timeZone)) formatterFor(timeZone);
}

/** Local wall-clock time minus UTC, in ms, at instant ts (e.g. +3 600 000 for Paris in winter). */
export function zoneOffset(ts: number, timeZone: string): number {
  const table = tableFor(timeZone);
  const fromTable = table ? tableOffset(table, ts) : undefined;
  if (fromTable !== undefined) return fromTable;
  const wholeSecond = Math.floor(ts / 1000) * 1000;
  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(wholeSecond)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const localAsUtc = Date.UTC(
    fields.year ?? 1970,
    (fields.month ?? 1) - 1,
    fields.day ?? 1,
    fields.hour ?? 0,
    fields.minute ?? 0,
    fields.second ?? 0,
  );
  return localAsUtc - wholeSecond;
}
