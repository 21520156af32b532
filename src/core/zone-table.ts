/**
 * UTC offsets of an IANA time zone read from the system's tz database (TZif files, RFC 8536), without Intl.
 * The first Intl.DateTimeFormat of a process loads ICU's calendar and locale data: about 8 MB of RSS for a
 * gateway that only needs offsets (docs/memory.md). A table covers the instants before the file's last
 * transition (2037 in Debian's tzdata), and after it when the file's footer names a zone without daylight
 * saving time (Asia/Kolkata, UTC); otherwise, for a file with leap seconds or without a file, it answers
 * undefined and the caller asks Intl.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

export const ZONEINFO_DIR = '/usr/share/zoneinfo';

/** Real TZif files are a few KB; a bigger one is not a zone file. */
const MAX_TZIF_BYTES = 256 * 1024;

/** Europe/Paris, America/Argentina/Buenos_Aires, Etc/GMT+1, UTC: never a path out of the folder. */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z][A-Za-z0-9_+-]*)*$/;
/** Files of the folder that are no IANA zone name (Intl refuses them): copies under posix/ and right/, and the like. */
const NOT_ZONES = /^(?:posix|right)\/|^(?:Factory|posixrules|localtime)$/;

export interface ZoneTable {
  /** Transition instants, ms since the epoch, ascending. */
  readonly at: Float64Array;
  /** Offset in ms from each transition on; offsets[0] also holds before the first. */
  readonly offsets: Float64Array;
  /** Offset before the first transition (the file's time type 0). */
  readonly initial: number;
  /** Offset from the last transition on, when the footer says it never changes again. */
  readonly after?: number;
}

/** The zone's table from `dir`, or undefined when the name, the file or its content does not serve. */
export function readZoneTable(zone: string, dir: string = ZONEINFO_DIR): ZoneTable | undefined {
  if (!ZONE_NAME.test(zone) || NOT_ZONES.test(zone)) return undefined;
  const bytes = readSmallFile(join(dir, zone));
  return bytes && parseTzif(bytes);
}

/** Offset in ms at instant ts (local wall clock minus UTC), or undefined past the table's last transition. */
export function tableOffset(table: ZoneTable, ts: number): number | undefined {
  const { at, offsets } = table;
  if (at.length === 0 || ts >= at[at.length - 1]!) return table.after;
  if (ts < at[0]!) return table.initial;
  let lo = 0;
  let hi = at.length - 1;
  // Invariant: at[lo] <= ts < at[hi].
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (at[mid]! <= ts) lo = mid;
    else hi = mid;
  }
  return offsets[lo];
}

/** RFC 8536: the version 2+ block (64-bit times) when present, else version 1 (32-bit). Leap-second files are refused. */
export function parseTzif(bytes: Buffer): ZoneTable | undefined {
  const first = header(bytes, 0);
  if (!first) return undefined;
  if (first.version === 0) return body(bytes, first, 44, 4);
  const second = header(bytes, 44 + blockSize(first, 4));
  const start = 44 + blockSize(first, 4) + 44;
  const table = second && body(bytes, second, start, 8);
  if (!table) return undefined;
  const after = fixedOffset(footer(bytes, start + blockSize(second, 8)));
  return after === undefined ? table : { ...table, after };
}

/** The footer's POSIX TZ string (between two newlines after the version 2 block), or ''. */
function footer(bytes: Buffer, at: number): string {
  if (bytes[at] !== 0x0a) return '';
  const end = bytes.indexOf(0x0a, at + 1);
  return end < 0 ? '' : bytes.toString('latin1', at + 1, end);
}

/** The offset of a TZ string without daylight saving time ("IST-5:30", "<-03>3", "UTC0"), in ms; POSIX counts west as positive. */
function fixedOffset(tz: string): number | undefined {
  const m = /^(?:<[A-Za-z0-9+-]+>|[A-Za-z]{3,})([+-]?)(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(tz);
  if (!m) return undefined;
  const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  return (m[1] === '-' ? seconds : -seconds) * 1000 || 0; // never -0
}

interface Header {
  readonly version: number;
  readonly isutcnt: number;
  readonly isstdcnt: number;
  readonly leapcnt: number;
  readonly timecnt: number;
  readonly typecnt: number;
  readonly charcnt: number;
}

function header(bytes: Buffer, at: number): Header | undefined {
  if (bytes.length < at + 44 || bytes.toString('latin1', at, at + 4) !== 'TZif') return undefined;
  const count = (i: number) => bytes.readUInt32BE(at + 20 + 4 * i);
  const version = bytes[at + 4]!;
  return { version, isutcnt: count(0), isstdcnt: count(1), leapcnt: count(2), timecnt: count(3), typecnt: count(4), charcnt: count(5) };
}

const blockSize = (h: Header, timeBytes: number): number =>
  h.timecnt * (timeBytes + 1) + h.typecnt * 6 + h.charcnt + h.leapcnt * (timeBytes + 4) + h.isstdcnt + h.isutcnt;

function body(bytes: Buffer, h: Header, start: number, timeBytes: 4 | 8): ZoneTable | undefined {
  if (h.leapcnt > 0 || h.typecnt === 0 || bytes.length < start + blockSize(h, timeBytes)) return undefined;
  const typesAt = start + h.timecnt * (timeBytes + 1);
  const typeOffset = (t: number): number | undefined => (t < h.typecnt ? bytes.readInt32BE(typesAt + 6 * t) * 1000 : undefined);
  const at = new Float64Array(h.timecnt);
  const offsets = new Float64Array(h.timecnt);
  for (let i = 0; i < h.timecnt; i++) {
    at[i] = (timeBytes === 8 ? Number(bytes.readBigInt64BE(start + 8 * i)) : bytes.readInt32BE(start + 4 * i)) * 1000;
    const offset = typeOffset(bytes[start + h.timecnt * timeBytes + i]!);
    if (offset === undefined || (i > 0 && at[i]! <= at[i - 1]!)) return undefined;
    offsets[i] = offset;
  }
  return { at, offsets, initial: typeOffset(0)! };
}

/** The file's bytes, or undefined: unreadable, not a regular file, too big. Links are followed (zoneinfo aliases are links). */
function readSmallFile(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_TZIF_BYTES) return undefined;
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a zone name is known: from its TZif file when there is one, else from Intl (which then loads
 * ICU's data, see above). What `check` accepts, the gateway can run.
 */
export function isKnownTimeZone(zone: string, dir: string = ZONEINFO_DIR): boolean {
  if (readZoneTable(zone, dir)) return true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
