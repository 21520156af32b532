/**
 * `passerelle scan --port /dev/ttyUSB0 [--baud 9600] [--ids 1-247]` or `--tcp HOST:PORT`: lists the unit ids
 * that answer and the likely model of each. Progress on stderr (one rewritten line on a terminal, plain
 * lines otherwise), the results table on stdout.
 */
import { Option, type Command } from 'commander';
import { PasserelleError } from '../../core/errors.js';
import { describeEndpoint, type Endpoint } from '../../bus/modbus-client.js';
import { loadProfiles } from '../../profiles/index.js';
import {
  describeIds,
  openProbeLine,
  parseIdRanges,
  scanLine,
  type FoundDevice,
  type ProbeLine,
  type ScanProgress,
  type ScanResult,
} from '../../drivers/modbus/scan.js';
import type { LineTiming } from '../../drivers/modbus/wire-cost.js';
import { TCP_PLAN_RTT_MS } from '../../drivers/modbus/site-plan.js';
import { formatTable, processOutput, type CommandOutput } from './plan.js';
import { parseHostPort } from './simulate-options.js';

export interface LineOptions {
  readonly port?: string;
  readonly tcp?: string;
  readonly baud: string;
  readonly parity: string;
  readonly dataBits: string;
  readonly stopBits: string;
  readonly timeout: string;
}

export interface ScanCommandOptions extends LineOptions {
  readonly ids: string;
}

/** --port/--tcp and the serial settings, shared by scan and read. */
export function addLineOptions(cmd: Command, defaultTimeoutMs: number): Command {
  return cmd
    .option('--port <path>', 'serial port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...')
    .option('--tcp <host:port>', 'Modbus TCP instead of a serial port, e.g. 192.168.10.20:502')
    .option('--baud <n>', 'baud rate', '9600')
    .addOption(new Option('--parity <p>', 'parity').choices(['none', 'even', 'odd']).default('none'))
    .addOption(new Option('--data-bits <n>', 'data bits').choices(['7', '8']).default('8'))
    .addOption(new Option('--stop-bits <n>', 'stop bits').choices(['1', '2']).default('1'))
    .option(
      '--timeout <ms>',
      'how long a device may take to start answering, in ms; the transfer time at the baud rate is added (boiler controllers need 1000)',
      String(defaultTimeoutMs),
    );
}

export function endpointFromOptions(o: LineOptions): Endpoint {
  if ((o.port === undefined) === (o.tcp === undefined)) {
    throw new PasserelleError('E_CLI_USAGE', 'say which line to use: --port /dev/ttyUSB0 or --tcp HOST:PORT (one of them)');
  }
  if (o.tcp !== undefined) return { type: 'tcp', ...parseHostPort(o.tcp) };
  const baud = positiveInteger(o.baud, '--baud');
  return {
    type: 'serial',
    port: o.port!,
    baud,
    parity: o.parity as 'none' | 'even' | 'odd',
    dataBits: Number(o.dataBits) as 7 | 8,
    stopBits: Number(o.stopBits) as 1 | 2,
  };
}

export function positiveInteger(text: string, option: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new PasserelleError('E_CLI_USAGE', `${option} must be a positive whole number, got "${text}"`);
  return n;
}

export const timingOfEndpoint = (e: Endpoint): LineTiming =>
  e.type === 'tcp' ? { kind: 'tcp', rttMs: TCP_PLAN_RTT_MS } : { kind: 'rtu', baud: e.baud };

/** "9600 8N1 on /dev/ttyUSB0" or "192.168.10.20:502", for messages. */
export const describeLine = (e: Endpoint): string =>
  e.type === 'tcp' ? describeEndpoint(e) : `${e.baud} ${e.dataBits}${e.parity[0]!.toUpperCase()}${e.stopBits} on ${e.port}`;

export function registerScanCommand(program: Command): void {
  const cmd = program
    .command('scan')
    .description('list the unit ids that answer on a line, with the likely model of each')
    .option('--ids <ranges>', 'unit ids to try, e.g. 1-247, 1,2,5-9 or 254 (M-Bus: primary addresses, default 0-250)', '1-247')
    .option('--mbus', 'M-Bus meters (EN 13757): primary scan then secondary search; 2400 baud 8E1 unless --baud/--parity say otherwise')
    .option('--no-primary', 'M-Bus: skip the primary address scan')
    .option('--no-secondary', 'M-Bus: skip the secondary address search');
  addLineOptions(cmd, 100).action(async (o: ScanCommandOptions & { mbus?: boolean; primary: boolean; secondary: boolean }, command: Command) => {
    if (o.mbus) {
      const given = (k: string) => command.getOptionValueSource(k) === 'cli';
      const { mbusScanCommand } = await import('./mbus.js');
      await mbusScanCommand(
        { port: o.port, baud: given('baud') ? o.baud : '2400', parity: given('parity') ? o.parity : 'even', ids: given('ids') ? o.ids : '0-250', primary: o.primary, secondary: o.secondary, ...(given('timeout') ? { timeout: o.timeout } : {}) },
        processIo(),
      );
      return;
    }
    await scanCommand(o);
  });
}

export interface ScanCommandIo extends CommandOutput {
  /** Rewrite one progress line (terminal) rather than print one line per step. */
  readonly stderrIsTty: boolean;
}

const processIo = (): ScanCommandIo => ({ ...processOutput, stderrIsTty: process.stderr.isTTY === true });

export async function scanCommand(o: ScanCommandOptions, io: ScanCommandIo = processIo(), line?: ProbeLine): Promise<ScanResult> {
  const endpoint = endpointFromOptions(o);
  const ids = parseIdRanges(o.ids);
  const timeoutMs = positiveInteger(o.timeout, '--timeout');
  const probe = line ?? openProbeLine(endpoint, Math.max(timeoutMs, 1000));
  const progress = progressPrinter(io);
  try {
    const result = await scanLine(probe, {
      ids,
      timeoutMs,
      profiles: [...loadProfiles().values()],
      timing: timingOfEndpoint(endpoint),
      onProgress: progress.step,
      onFound: progress.found,
    });
    progress.end();
    if (result.found.length === 0) throw noAnswer(endpoint, ids, result);
    io.stdout(renderScan(result.found));
    return result;
  } finally {
    progress.end();
    await probe.close();
  }
}

function noAnswer(endpoint: Endpoint, ids: readonly number[], result: ScanResult): PasserelleError {
  const where = describeLine(endpoint);
  if (result.garbled.length > 0) {
    return new PasserelleError(
      'E_SCAN_GARBLED',
      `no valid answer at ${where} on ids ${describeIds(ids)}, but garbled replies came back (ids ${describeIds(result.garbled)}): ` +
        'the devices probably use another baud rate or parity; try --baud 4800, --baud 19200 or --parity even',
    );
  }
  const hint =
    endpoint.type === 'tcp'
      ? 'check the unit ids behind the gateway, its serial settings, and --timeout for slow devices'
      : 'check the baud rate, parity, A/B wiring and termination';
  return new PasserelleError('E_SCAN_NOTHING', `no device answered at ${where} on ids ${describeIds(ids)}: ${hint}`);
}

export function renderScan(found: readonly FoundDevice[]): string {
  const rows = found.map((d) => [
    String(d.unit),
    d.probe.exceptionCode === undefined ? `function ${d.probe.fn}: data` : `function ${d.probe.fn}: exception ${d.probe.exceptionCode}`,
    d.models.length === 0 ? 'unknown (no profile matches)' : d.models.map((m) => `${m.profile} (${m.manufacturer} ${m.model})`).join(' or '),
  ]);
  return formatTable(['unit', 'answered', 'likely model'], rows);
}

/** At most this many plain progress lines on a non-terminal, so logs stay readable. */
const PLAIN_PROGRESS_LINES = 10;

function progressPrinter(io: ScanCommandIo): { step: (p: ScanProgress) => void; found: (d: FoundDevice) => void; end: () => void } {
  let open = false;
  return {
    step: (p) => {
      const text = `scanning id ${p.unit} (${p.done}/${p.total}), ${p.found} found`;
      if (io.stderrIsTty) {
        io.stderr(`\r${text}\x1b[K`);
        open = true;
      } else if (p.done === p.total || p.done % Math.ceil(p.total / PLAIN_PROGRESS_LINES) === 0) {
        io.stderr(`${text}\n`);
      }
    },
    found: (d) => {
      if (!io.stderrIsTty) io.stderr(`found unit ${d.unit}\n`);
    },
    end: () => {
      if (open) io.stderr('\n');
      open = false;
    },
  };
}
