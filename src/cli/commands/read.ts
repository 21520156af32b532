/**
 * `passerelle read (--port P | --tcp H:P) --unit N (--profile ID [--points a,b] | --raw --function 3 --address A --count C)`:
 * reads one device and prints decoded values (point, value, unit, raw words). Reads only: function codes 1-4.
 */
import { Option, type Command } from 'commander';
import { PasserelleError } from '../../core/errors.js';
import { ModbusFailure, type Endpoint } from '../../bus/modbus-client.js';
import { getProfile, type Profile, type ProfilePoint } from '../../profiles/index.js';
import { decodePoint } from '../../drivers/modbus/codec.js';
import { planDevice, pointWidth, selectPoints } from '../../drivers/modbus/device-plan.js';
import { openProbeLine, readTimeoutMs, type ProbeLine } from '../../drivers/modbus/scan.js';
import { PROTOCOL_MAX_PER_READ, type LineTiming, type ReadFunction } from '../../drivers/modbus/wire-cost.js';
import { formatTable, processOutput, type CommandOutput } from './plan.js';
import { addLineOptions, describeLine, endpointFromOptions, positiveInteger, timingOfEndpoint, type LineOptions } from './scan.js';

export interface ReadCommandOptions extends LineOptions {
  readonly unit?: string;
  readonly profile?: string;
  readonly points?: string;
  readonly raw?: boolean;
  readonly function: string;
  readonly address?: string;
  readonly count: string;
  readonly json?: boolean;
}

export interface PointRow {
  readonly point: string;
  readonly value: number | null;
  readonly unit?: string;
  readonly raw: readonly number[];
  /** Why value is null: no-sensor, decode, or the failure of the read. */
  readonly problem?: string;
}

export interface RawRow {
  readonly address: number;
  readonly value: number;
}

export function registerReadCommand(program: Command): void {
  const cmd = program
    .command('read')
    .description("read one device's profile points, or raw registers, and print decoded values")
    .option('--unit <n>', 'unit (slave) id; M-Bus: primary address')
    .option('--profile <id>', 'hardware profile, e.g. eastron-sdm630')
    .option('--points <names>', 'comma-separated point names (default: all of the profile)')
    .option('--raw', 'read raw registers instead of a profile')
    .addOption(new Option('--function <fc>', 'read function for --raw: 1 coils, 2 discrete, 3 holding, 4 input').choices(['1', '2', '3', '4']).default('3'))
    .option('--address <a>', 'first wire (0-based) address for --raw, decimal or 0x hex')
    .option('--count <n>', 'registers or bits to read for --raw', '1')
    .option('--json', 'print the rows as JSON')
    .option('--mbus', "M-Bus meter (EN 13757): its records, or --profile's points; 2400 baud 8E1 unless --baud/--parity say otherwise")
    .option('--secondary <id>', 'M-Bus: select the meter by its 8-digit identification number instead of --unit')
    .option('--show-identifiers', 'M-Bus: print the meter id, fabrication number and customer records in clear');
  addLineOptions(cmd, 1000).action(async (o: ReadCommandOptions & { mbus?: boolean; secondary?: string; showIdentifiers?: boolean }, command: Command) => {
    if (o.mbus) {
      const given = (k: string) => command.getOptionValueSource(k) === 'cli';
      const { mbusReadCommand } = await import('./mbus.js');
      process.exitCode = await mbusReadCommand({
        port: o.port, baud: given('baud') ? o.baud : '2400', parity: given('parity') ? o.parity : 'even',
        ...(given('timeout') ? { timeout: o.timeout } : {}),
        ...(o.unit !== undefined ? { unit: o.unit } : {}), ...(o.secondary !== undefined ? { secondary: o.secondary } : {}),
        ...(o.profile !== undefined ? { profile: o.profile } : {}), json: o.json === true, showIdentifiers: o.showIdentifiers === true,
      });
      return;
    }
    process.exitCode = await readCommand(o);
  });
}

/** Returns the exit code: 0 when every value was read, 1 when some point could not be. */
export async function readCommand(o: ReadCommandOptions, out: CommandOutput = processOutput, line?: ProbeLine): Promise<number> {
  const endpoint = endpointFromOptions(o);
  if (o.unit === undefined) throw usage('say which device: --unit N');
  const unit = unitId(o.unit);
  const timeoutMs = positiveInteger(o.timeout, '--timeout');
  const request = o.raw ? rawRequest(o) : profileRequest(o);
  const probe = line ?? openProbeLine(endpoint, Math.max(timeoutMs, 1000));
  const ctx: ReadContext = { line: probe, unit, timeoutMs, endpoint, timing: timingOfEndpoint(endpoint), turnaroundMs: 0 };
  try {
    if (request.kind === 'raw') {
      const rows = await readRaw(ctx, request.fn, request.address, request.count);
      out.stdout(o.json ? `${JSON.stringify(rows)}\n` : renderRaw(request.fn, rows));
      return 0;
    }
    const rows = await readPoints({ ...ctx, turnaroundMs: request.profile.limits.turnaroundMs }, request.profile, request.points);
    out.stdout(o.json ? `${JSON.stringify(rows)}\n` : renderPoints(rows));
    return rows.some((r) => r.value === null) ? 1 : 0;
  } finally {
    await probe.close();
  }
}

type Request =
  | { kind: 'raw'; fn: ReadFunction; address: number; count: number }
  | { kind: 'profile'; profile: Profile; points: ProfilePoint[] };

function rawRequest(o: ReadCommandOptions): Request {
  if (o.profile !== undefined) throw usage('use either --profile or --raw, not both');
  if (o.address === undefined) throw usage('--raw needs --address (e.g. --address 0x0014)');
  const fn = Number(o.function) as ReadFunction;
  const address = parseAddress(o.address);
  const count = positiveInteger(o.count, '--count');
  const max = PROTOCOL_MAX_PER_READ[fn];
  if (count > max) throw usage(`--count is at most ${max} for function ${fn}`);
  if (address + count - 1 > 0xffff) throw usage(`addresses ${address}..${address + count - 1} go past 65535`);
  return { kind: 'raw', fn, address, count };
}

function profileRequest(o: ReadCommandOptions): Request {
  if (o.profile === undefined) throw usage('say what to read: --profile ID, or --raw --address A');
  const profile = getProfile(o.profile);
  const names = o.points?.split(',').map((n) => n.trim()).filter((n) => n !== '');
  const unknown = names?.filter((n) => !profile.points.some((p) => p.name === n)) ?? [];
  if (unknown.length > 0) {
    throw usage(`profile ${profile.id} has no point ${unknown.map((n) => `"${n}"`).join(', ')} (it has: ${profile.points.map((p) => p.name).join(', ')})`);
  }
  return { kind: 'profile', profile, points: selectPoints('--points', profile.id, profile.points, names) };
}

const usage = (message: string) => new PasserelleError('E_CLI_USAGE', message);

function unitId(text: string): number {
  const n = /^\d{1,3}$/.test(text.trim()) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 255)) throw usage(`--unit must be a unit id 0-255, got "${text}"`);
  return n;
}

export function parseAddress(text: string): number {
  const t = text.trim().toLowerCase();
  const n = /^0x[0-9a-f]{1,4}$/.test(t) ? parseInt(t.slice(2), 16) : /^\d{1,5}$/.test(t) ? Number(t) : NaN;
  if (!(n >= 0 && n <= 0xffff)) throw usage(`--address must be a wire address 0-65535 (decimal or 0x hex), got "${text}"`);
  return n;
}

export interface ReadContext {
  readonly line: ProbeLine;
  readonly unit: number;
  /** Slack for the device to start answering; each read's own bus time is added (readTimeoutMs). */
  readonly timeoutMs: number;
  readonly endpoint: Endpoint;
  readonly timing: LineTiming;
  readonly turnaroundMs: number;
}

const EXCEPTION_NAMES: Readonly<Record<number, string>> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'server device failure',
  5: 'acknowledge',
  6: 'server busy',
  10: 'gateway path unavailable',
  11: 'gateway target failed to respond',
};
/** A TCP-to-RTU gateway's way of saying the device behind it did not answer. */
const NO_ANSWER_EXCEPTIONS: ReadonlySet<number> = new Set([10, 11]);

const isNoAnswer = (f: ModbusFailure): boolean =>
  f.reason === 'timeout' || (f.reason === 'exception' && NO_ANSWER_EXCEPTIONS.has(f.exceptionCode ?? -1));

function describeFailure(f: ModbusFailure): string {
  if (f.reason === 'exception') return `exception ${f.exceptionCode} (${EXCEPTION_NAMES[f.exceptionCode ?? -1] ?? 'unknown'})`;
  if (f.reason === 'timeout') return 'no answer';
  return f.reason === 'crc' ? 'bad CRC' : `bad frame (${f.message})`;
}

function noAnswer(ctx: ReadContext): PasserelleError {
  return new PasserelleError(
    'E_READ_NO_ANSWER',
    `unit ${ctx.unit} did not answer at ${describeLine(ctx.endpoint)} within ${ctx.timeoutMs} ms: ` +
      (ctx.endpoint.type === 'tcp'
        ? 'check the unit id (passerelle scan --tcp) and that this host and port serve Modbus TCP'
        : 'check the unit id (passerelle scan), the baud rate and parity, A/B wiring and termination'),
  );
}

/** Runs one read; a line that is gone (disconnected) is thrown, a Modbus failure is returned. */
async function tryRead(ctx: ReadContext, fn: ReadFunction, address: number, count: number): Promise<number[] | ModbusFailure> {
  try {
    return await ctx.line.read(ctx.unit, fn, address, count, readTimeoutMs(ctx.timing, fn, count, ctx.timeoutMs, ctx.turnaroundMs));
  } catch (err) {
    if (err instanceof ModbusFailure && err.reason !== 'disconnected') return err;
    throw err;
  }
}

export async function readRaw(ctx: ReadContext, fn: ReadFunction, address: number, count: number): Promise<RawRow[]> {
  const result = await tryRead(ctx, fn, address, count);
  if (result instanceof ModbusFailure) {
    if (isNoAnswer(result)) throw noAnswer(ctx);
    throw new PasserelleError('E_READ_FAILED', `unit ${ctx.unit} answered function ${fn} at ${address} × ${count} with ${describeFailure(result)}`);
  }
  return result.map((value, i) => ({ address: address + i, value }));
}

/** Reads the points with the planner's requests; a failed request marks its points, the others still show. */
export async function readPoints(ctx: ReadContext, profile: Profile, points: readonly ProfilePoint[]): Promise<PointRow[]> {
  const plan = planDevice(ctx.unit, points, profile.limits, ctx.timing);
  const rows = new Map<string, PointRow>();
  let answered = false;
  for (const read of plan.reads) {
    const result = await tryRead(ctx, read.fn, read.address, read.count);
    if (!(result instanceof ModbusFailure) || !isNoAnswer(result)) answered = true;
    for (const p of read.points) {
      if (result instanceof ModbusFailure) {
        rows.set(p.name, { point: p.name, value: null, unit: p.unit, raw: [], problem: describeFailure(result) });
        continue;
      }
      const offset = p.address - read.address;
      const raw = result.slice(offset, offset + pointWidth(p));
      const decoded = decodePoint(raw, p);
      rows.set(p.name, { point: p.name, value: decoded.value, unit: p.unit, raw, ...(decoded.reason ? { problem: decoded.reason } : {}) });
    }
  }
  if (plan.reads.length > 0 && !answered) throw noAnswer(ctx);
  for (const u of plan.unreadable) rows.set(u.point.name, { point: u.point.name, value: null, unit: u.point.unit, raw: [], problem: `unreadable (${u.reason})` });
  return points.map((p) => rows.get(p.name)!);
}

const hexWord = (w: number): string => `0x${w.toString(16).toUpperCase().padStart(4, '0')}`;
/** Seven significant digits: what a float32 carries. */
const showValue = (v: number): string => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7))));

export function renderPoints(rows: readonly PointRow[]): string {
  return formatTable(
    ['point', 'value', 'unit', 'raw words'],
    rows.map((r) => [r.point, r.value === null ? `- (${r.problem ?? 'no value'})` : showValue(r.value), r.unit ?? '', r.raw.map(hexWord).join(' ')]),
  );
}

export function renderRaw(fn: ReadFunction, rows: readonly RawRow[]): string {
  if (fn === 1 || fn === 2) return formatTable(['address', 'bit'], rows.map((r) => [`${r.address} (${hexWord(r.address)})`, String(r.value)]));
  return formatTable(
    ['address', 'hex', 'u16', 'i16'],
    rows.map((r) => [`${r.address} (${hexWord(r.address)})`, hexWord(r.value), String(r.value), String(r.value >= 0x8000 ? r.value - 0x10000 : r.value)]),
  );
}
