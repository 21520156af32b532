/**
 * The M-Bus side of `passerelle scan --mbus` and `passerelle read --mbus`: a technician finds the
 * meters of a bus (primary addresses, then the secondary search) and reads one of them as a table
 * or JSON. 2400 baud 8E1 unless told otherwise; --timeout adds to the standard's answer time (for a
 * slow level converter). Identifiers are hidden in `read` unless --show-identifiers; `scan` shows
 * identification numbers, since they are what a config needs for secondary addressing.
 */
import { PasserelleError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { NEVER_UPSTREAM } from '../../core/types.js';
import { loadMbusProfiles, getMbusProfile, type MbusProfile } from '../../profiles/index.js';
import {
  ADDR_NETWORK, findRecord, MbusMaster, mbusGenericPointName, mbusPoints, pointValue, recordDataClass, statusFlags,
  type MbusHeader, type MbusRecord, type ReadResult,
} from '../../drivers/serial/mbus/index.js';
import type { SerialPortFactory } from '../../drivers/serial/serial-link.js';
import { formatTable, processOutput, type CommandOutput } from './plan.js';
import { serialPathProblem } from '../../bus/serial-errors.js';

export interface MbusLineOptions {
  readonly port?: string;
  readonly baud: string;
  readonly parity: string;
  readonly timeout?: string;
}

export interface MbusScanOptions extends MbusLineOptions {
  readonly ids: string;
  readonly primary: boolean;
  readonly secondary: boolean;
}

export interface MbusReadOptions extends MbusLineOptions {
  readonly unit?: string;
  readonly secondary?: string;
  readonly profile?: string;
  readonly json?: boolean;
  readonly showIdentifiers?: boolean;
}

export interface FoundMeter {
  readonly address?: number;
  readonly header: MbusHeader;
  readonly profiles: string[];
}

const usage = (m: string) => new PasserelleError('E_CLI_USAGE', m);

function masterFor(o: MbusLineOptions, portFactory?: SerialPortFactory, retries?: number): MbusMaster {
  if (!o.port) throw usage('M-Bus needs a serial line: --port /dev/ttyUSB0 (a level converter; there is no M-Bus over --tcp here)');
  const baudRate = Number(o.baud);
  if (!Number.isInteger(baudRate) || baudRate <= 0) throw usage(`--baud must be a positive integer, got "${o.baud}"`);
  const slackMs = o.timeout === undefined ? undefined : Number(o.timeout);
  if (slackMs !== undefined && !(slackMs >= 0)) throw usage(`--timeout must be a number of ms, got "${o.timeout}"`);
  return new MbusMaster({
    settings: { path: o.port, baudRate, dataBits: 8, parity: o.parity as 'none' | 'even' | 'odd', stopBits: 1 },
    logger: silentLogger(),
    ...(slackMs !== undefined ? { slackMs } : {}),
    ...(retries !== undefined ? { retries } : {}),
    ...(portFactory ? { portFactory } : {}),
  });
}

async function opened(master: MbusMaster, path: string): Promise<void> {
  await master.start();
  if (!master.isOpen) {
    await master.stop();
    // Worded where every tool words it; a path that looks fine but still fails keeps the generic code.
    const problem = serialPathProblem(path) ?? { code: 'E_SERIAL_OPEN', message: `cannot open serial port ${path}: is the level converter powered?` };
    throw new PasserelleError(problem.code, problem.message);
  }
}

/** Profiles whose match fits the header: the likely model. */
export function likelyProfiles(h: MbusHeader, profiles: Iterable<MbusProfile> = loadMbusProfiles().values()): string[] {
  return [...profiles]
    .filter((p) => p.match && p.match.manufacturer === h.manufacturer && (!p.match.media || p.match.media.includes(h.medium)) && (!p.match.versions || p.match.versions.includes(h.version)))
    .map((p) => p.id);
}

function parseAddresses(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,3})(?:\s*-\s*(\d{1,3}))?\s*$/.exec(part);
    const from = m ? Number(m[1]) : NaN;
    const to = m?.[2] !== undefined ? Number(m[2]) : from;
    if (!m || from > to || to > 250) throw usage(`--ids for M-Bus are primary addresses 0-250, e.g. 1-250 or 1,5,9; got "${text}"`);
    for (let a = from; a <= to; a++) out.add(a);
  }
  return [...out];
}

export async function mbusScanCommand(o: MbusScanOptions, io: CommandOutput & { stderrIsTty?: boolean } = processOutput, portFactory?: SerialPortFactory): Promise<FoundMeter[]> {
  const addresses = o.primary ? parseAddresses(o.ids) : [];
  // One try per address: most addresses are empty, and three tries would triple a 250-address scan.
  const master = masterFor(o, portFactory, 0);
  await opened(master, o.port!);
  const found: FoundMeter[] = [];
  const progress = (text: string) => io.stderr(io.stderrIsTty ? `\r${text}\x1b[K` : `${text}\n`);
  try {
    let done = 0;
    for (const address of addresses) {
      done++;
      if (io.stderrIsTty || done % 25 === 0 || done === addresses.length) progress(`primary scan: address ${address} (${done}/${addresses.length}), ${found.length} found`);
      if (!(await master.sndNke(address))) continue;
      const r = await master.read(address);
      if (r.ok && r.header) {
        found.push({ address, header: r.header, profiles: likelyProfiles(r.header) });
        if (!io.stderrIsTty) io.stderr(`found address ${address}: ${r.header.manufacturer} ${r.header.mediumName}\n`);
      }
    }
    if (o.secondary) {
      progress('secondary search: selecting identification numbers digit by digit');
      const headers = await master.search((mask, result) => {
        if (io.stderrIsTty) progress(`secondary search: ${mask} ${result}`);
      });
      for (const h of headers) if (!found.some((f) => f.header.id === h.id && f.header.manufacturer === h.manufacturer)) found.push({ header: h, profiles: likelyProfiles(h) });
    }
    if (io.stderrIsTty) io.stderr('\n');
  } finally {
    await master.stop();
  }
  if (found.length === 0) {
    throw new PasserelleError('E_SCAN_NOTHING', `no M-Bus meter answered on ${o.port} at ${o.baud} baud: check the level converter's power and bus voltage, the two wires, and --baud (300, 2400 or 9600)`);
  }
  io.stdout(renderMeters(found));
  return found;
}

export function renderMeters(found: readonly FoundMeter[]): string {
  return formatTable(
    ['address', 'id (secondary)', 'manufacturer', 'version', 'medium', 'status', 'likely profile'],
    found.map((f) => [
      f.address === undefined ? '-' : String(f.address),
      f.header.id,
      f.header.manufacturer,
      String(f.header.version),
      f.header.mediumName,
      statusFlags(f.header.status).join(', ') || 'ok',
      f.profiles.join(' or ') || 'mbus-generic',
    ]),
  );
}

export interface MbusRow {
  readonly point: string;
  readonly value: number | string | null;
  readonly unit?: string;
  readonly function: string;
  readonly storage: number;
  readonly tariff: number;
  readonly subunit: number;
  readonly description: string;
  readonly problem?: string;
}

/** Returns the exit code: 0 when every point was read, 1 otherwise. */
export async function mbusReadCommand(o: MbusReadOptions, out: CommandOutput = processOutput, portFactory?: SerialPortFactory): Promise<number> {
  if ((o.unit === undefined) === (o.secondary === undefined)) throw usage('say which meter: --unit N (primary address 1-250) or --secondary ID (8 digits)');
  if (o.secondary !== undefined && !/^[0-9]{8}$/.test(o.secondary)) throw usage(`--secondary is the 8-digit identification number, got "${o.secondary}"`);
  const primary = o.unit === undefined ? undefined : Number(o.unit);
  if (primary !== undefined && !(Number.isInteger(primary) && primary >= 0 && primary <= 250)) throw usage(`--unit is a primary address 0-250 for M-Bus, got "${o.unit}"`);
  const profile = o.profile === undefined ? undefined : getMbusProfile(o.profile);
  const master = masterFor(o, portFactory);
  await opened(master, o.port!);
  let result: ReadResult;
  try {
    if (o.secondary !== undefined) {
      const selected = await master.select({ id: o.secondary });
      if (selected !== 'selected') throw new PasserelleError('E_READ_NO_ANSWER', selected === 'collision' ? `several meters answered the selection of ${o.secondary}` : `no meter answered the selection of ${o.secondary} on ${o.port}`);
    } else {
      await master.sndNke(primary!);
    }
    result = await master.read(o.secondary !== undefined ? ADDR_NETWORK : primary!);
  } finally {
    await master.stop();
  }
  if (!result.ok) throw new PasserelleError('E_READ_NO_ANSWER', `${result.message} on ${o.port}`);
  const show = o.showIdentifiers === true;
  const rows = profile && !profile.generic ? profileRows(profile, result.records, show) : genericRows(result.records, show);
  const h = result.header;
  if (o.json) out.stdout(`${JSON.stringify({ meter: h ? { ...h, id: show ? h.id : '(hidden identifier)' } : null, telegrams: result.telegrams, rows })}\n`);
  else {
    if (h) out.stdout(`${h.manufacturer} version ${h.version}, ${h.mediumName}, id ${show ? h.id : '(hidden identifier)'}, ${result.telegrams} telegram(s)${statusFlags(h.status).length ? `, status: ${statusFlags(h.status).join(', ')}` : ''}\n`);
    out.stdout(formatTable(['point', 'value', 'unit', 'function', 'storage', 'tariff', 'subunit', 'description'], rows.map((r) => [r.point, r.value === null ? `- (${r.problem ?? 'no value'})` : String(r.value), r.unit ?? '', r.function, String(r.storage), String(r.tariff), String(r.subunit), r.description])));
  }
  if (result.problem) out.stderr(`warning: ${result.problem}\n`);
  return rows.some((r) => r.value === null) ? 1 : 0;
}

function hideIf(r: MbusRecord, value: number | string | null, show: boolean): number | string | null {
  return !show && NEVER_UPSTREAM.has(recordDataClass(r)) ? '(hidden identifier)' : value;
}

/** Every record, named as the generic profile names it (duplicates numbered: they cannot be configured). */
function genericRows(records: readonly MbusRecord[], show: boolean): MbusRow[] {
  const seen = new Map<string, number>();
  return records.map((r) => {
    const base = r.quantity === 'plain_text' ? `plain_text` : mbusGenericPointName(r);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return {
      point: n === 1 ? base : `${base}#${n}`,
      value: hideIf(r, r.value, show),
      ...(r.unit ? { unit: r.unit } : {}),
      function: r.function, storage: r.storage, tariff: r.tariff, subunit: r.subunit, description: r.description,
      ...(r.value === null ? { problem: r.invalid ?? 'no data' } : {}),
    };
  });
}

function profileRows(profile: MbusProfile, records: readonly MbusRecord[], show: boolean): MbusRow[] {
  return mbusPoints('--profile', profile, undefined).map((p) => {
    const r = findRecord(records, p.selector);
    const value = pointValue(p, r);
    const shown = !show && NEVER_UPSTREAM.has(p.dataClass) && value !== null ? '(hidden identifier)' : value;
    return {
      point: p.name,
      value: shown,
      ...(p.unit ? { unit: p.unit } : {}),
      function: p.selector.function, storage: p.selector.storage, tariff: p.selector.tariff, subunit: p.selector.subunit,
      description: r?.description ?? p.selector.quantity,
      ...(value === null ? { problem: r ? (r.invalid ?? 'no value') : 'the meter sent no such record' } : {}),
    };
  });
}
