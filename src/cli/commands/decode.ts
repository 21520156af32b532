/**
 * `passerelle decode --protocol tic|sdi12|line|mbus [FILE|-]`: a capture brought back from site, decoded
 * to JSON lines, one per group (TIC), reply (SDI-12), line (ASCII) or data record (M-Bus), each `ok` or with an `error`
 * code and message. Errors in the data are output, not failures: exit 0. Exit 1 when the input
 * cannot be read or the options are wrong.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { readAtMost } from '../../core/bounded-read.js';
import { Option, type Command } from 'commander';
import { errorMessage, PasserelleError } from '../../core/errors.js';
import { formatIssue, loadConfigFile } from '../../config/index.js';
import { decodeCapture, type CaptureOptions, type CaptureProtocol } from '../../drivers/serial/capture.js';
import { lineDecoderOptionsOf } from '../../drivers/serial/line-driver.js';
import { LineDecoder, type LineDecoderOptions } from '../../drivers/serial/line/index.js';
import { processOutput, type CommandOutput } from './plan.js';

export interface DecodeCommandOptions {
  readonly protocol: CaptureProtocol;
  readonly showIdentifiers?: boolean;
  readonly crc?: boolean;
  readonly pattern?: string;
  readonly delimiter?: string;
  readonly config?: string;
  readonly device?: string;
}

/** A capture is read whole: hours of TIC at 9600 baud are a few megabytes; more is a wrong file. */
export const MAX_CAPTURE_BYTES = 64 * 1024 * 1024;

export function registerDecodeCommand(program: Command): void {
  program
    .command('decode')
    .description('decode a saved serial capture (TIC, SDI-12, ASCII lines, M-Bus) to JSON lines, one per group, reading or record')
    .argument('[file]', 'capture file; - or absent for stdin')
    .addOption(new Option('--protocol <p>', 'protocol of the capture').choices(['tic', 'sdi12', 'line', 'mbus']).makeOptionMandatory())
    .option('--show-identifiers', 'TIC: print ADCO/ADSC/PRM in clear (they identify a household meter); M-Bus: meter ids, fabrication numbers, customer records')
    .option('--crc', 'SDI-12: data replies carry a CRC even without an echoed aMC! before them')
    .option('--pattern <regex>', 'line: regular expression with named groups, e.g. "T=(?<T>[-0-9.]+)"')
    .option('--delimiter <text>', 'line: end of line; \\n, \\r\\n and \\t escapes are understood (default \\n)')
    .option('--config <file>', 'line: take the options of a line device from this site configuration')
    .option('--device <id>', 'line: the device of --config')
    .action(async (file: string | undefined, o: DecodeCommandOptions) => {
      const code = await decodeCommand(file, o);
      // A live port's pending read would keep the process waiting for bytes that may never come.
      process.stdout.write('', () => process.exit(code));
    });
}

/** Returns the exit code. */
export async function decodeCommand(file: string | undefined, o: DecodeCommandOptions, out: CommandOutput = processOutput, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  try {
    const opts = await captureOptions(o);
    const bytes = file === undefined || file === '-' ? await readStream(stdin) : await readCaptureFile(file, out);
    const records = decodeCapture(o.protocol, bytes, opts);
    out.stdout(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return 0;
  } catch (e) {
    out.stderr(`passerelle decode: ${e instanceof PasserelleError ? `${e.code}: ` : ''}${errorMessage(e)}\n`);
    return 1;
  }
}

async function captureOptions(o: DecodeCommandOptions): Promise<CaptureOptions> {
  const lineOnly = [o.pattern && '--pattern', o.delimiter && '--delimiter', o.config && '--config', o.device && '--device'].filter(Boolean);
  if (o.protocol !== 'line' && lineOnly.length > 0) usage(`${lineOnly.join(', ')} only apply to --protocol line`);
  if (o.showIdentifiers && o.protocol !== 'tic' && o.protocol !== 'mbus') usage('--show-identifiers only applies to --protocol tic or mbus');
  if (o.crc && o.protocol !== 'sdi12') usage('--crc only applies to --protocol sdi12');
  switch (o.protocol) {
    case 'tic':
      return { tic: { showIdentifiers: o.showIdentifiers === true } };
    case 'sdi12':
      return { sdi12: { crc: o.crc === true } };
    case 'line':
      return { line: await lineOptions(o) };
    case 'mbus':
      return { mbus: { showIdentifiers: o.showIdentifiers === true } };
    default:
      return usage(`unknown protocol "${String(o.protocol)}": use tic, sdi12, line or mbus`);
  }
}

async function lineOptions(o: DecodeCommandOptions): Promise<LineDecoderOptions> {
  if ((o.config === undefined) !== (o.device === undefined)) usage('--config and --device go together');
  let opts: LineDecoderOptions = {};
  if (o.config !== undefined && o.device !== undefined) {
    if (o.pattern !== undefined || o.delimiter !== undefined) usage('use either --config/--device or --pattern/--delimiter');
    const loaded = await loadConfigFile(o.config);
    if (!loaded.ok) throw new PasserelleError('E_CONFIG', `${o.config} is not a valid site configuration:\n${loaded.errors.map(formatIssue).join('\n')}`);
    const device = loaded.config.devices.find((d) => d.id === o.device);
    if (!device) usage(`no device "${o.device}" in ${o.config}`);
    if (device.protocol !== 'line' || !device.line) usage(`device "${o.device}" speaks ${device.protocol}, not line`);
    opts = lineDecoderOptionsOf({ line: device.line });
  } else {
    opts = { ...(o.pattern !== undefined ? { pattern: o.pattern } : {}), ...(o.delimiter !== undefined ? { delimiter: unescapeDelimiter(o.delimiter) } : {}) };
  }
  new LineDecoder(opts); // throws E_LINE_PATTERN / E_FRAMER_DELIMITER with the reason, before reading input
  return opts;
}

export function unescapeDelimiter(text: string): string {
  return text.replace(/\\([nrt\\])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '\\': '\\' })[c] ?? c);
}

/** A live port or pipe is read up to this: about 18 minutes of TIC at 9600 baud. */
export const MAX_LIVE_BYTES = 1024 * 1024;

async function readCaptureFile(file: string, out: CommandOutput): Promise<Buffer> {
  try {
    // stat() says 0 bytes for a port, /dev/urandom or a pipe: their reads are bounded below instead.
    if (!(await stat(file)).isFile()) return await readLive(file, out);
    const read = await readAtMost(file, MAX_CAPTURE_BYTES);
    if (read.overCap) throw new PasserelleError('E_DECODE_INPUT', `${file} is over ${MAX_CAPTURE_BYTES} bytes; split the capture`);
    return read.bytes;
  } catch (e) {
    if (e instanceof PasserelleError) throw e;
    throw new PasserelleError('E_DECODE_INPUT', `cannot read ${file}: ${errorMessage(e)}`);
  }
}

/**
 * A serial port (or a pipe) never ends by itself: say so, and decode what arrived when it closes, on
 * Ctrl-C, or at MAX_LIVE_BYTES. The port's baud rate is not set here (stty or `passerelle run` does).
 */
function readLive(file: string, out: CommandOutput): Promise<Buffer> {
  out.stderr(`passerelle decode: ${file} is a live port or pipe, not a saved capture: reading until it closes, Ctrl-C or ${MAX_LIVE_BYTES} bytes, then decoding\n`);
  const stream = createReadStream(file, { highWaterMark: 4096 });
  const chunks: Buffer[] = [];
  let total = 0;
  return new Promise((resolve, reject) => {
    const finish = (note?: string) => {
      process.off('SIGINT', onInterrupt);
      stream.destroy();
      if (note) out.stderr(`passerelle decode: ${note}\n`);
      resolve(Buffer.concat(chunks, total));
    };
    const onInterrupt = () => finish(`Ctrl-C: decoding the ${total} bytes read`);
    process.once('SIGINT', onInterrupt);
    stream.on('data', (chunk: Buffer | string) => {
      const kept = Buffer.from(chunk).subarray(0, MAX_LIVE_BYTES - total);
      chunks.push(kept);
      total += kept.length;
      if (total >= MAX_LIVE_BYTES) finish(`stopped after ${MAX_LIVE_BYTES} bytes (the bound for a live input)`);
    });
    stream.once('end', () => finish());
    stream.once('error', (e) => {
      process.off('SIGINT', onInterrupt);
      reject(e);
    });
  });
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : Buffer.from(chunk);
    total += b.length;
    if (total > MAX_CAPTURE_BYTES) throw new PasserelleError('E_DECODE_INPUT', `stdin holds more than ${MAX_CAPTURE_BYTES} bytes; split the capture`);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function usage(message: string): never {
  throw new PasserelleError('E_CLI_USAGE', message);
}
