/**
 * Decodes a recorded SDI-12 exchange into JSON-lines records (`passerelle decode --protocol sdi12`).
 * Lines end CR LF. When the adapter echoed the commands, a line reads `0M!00052`: the command tells
 * how to read the reply. Without echo, the reply's shape decides.
 */
import { captureError, type CaptureRecord } from '../framer.js';
import { createSdi12Framer } from './framer.js';
import { parseSdi12Response, type Sdi12Expect } from './response.js';
import { SDI12_MAX_LINE_BYTES } from './timing.js';

export interface Sdi12CaptureOptions {
  /** Data replies without an echoed aMC!/aCC!/aRC! before them carry a CRC. */
  readonly crc?: boolean;
}

interface CommandContext {
  readonly expect: Sdi12Expect;
  readonly crc: boolean;
}

export function decodeSdi12Capture(bytes: Uint8Array, opts: Sdi12CaptureOptions = {}): CaptureRecord[] {
  const framer = createSdi12Framer();
  const crcAfterMeasure = new Set<string>();
  const records: CaptureRecord[] = [];
  for (const framed of framer.push(bytes)) {
    if (framed.oversize) {
      records.push(captureError('sdi12', 'E_SDI12_OVERSIZE', `line longer than ${SDI12_MAX_LINE_BYTES} bytes dropped (${framed.droppedBytes} bytes)`));
      continue;
    }
    records.push(decodeLine(framed.line, crcAfterMeasure, opts.crc === true));
  }
  if (framer.bufferedBytes() > 0) records.push(captureError('sdi12', 'E_SDI12_INCOMPLETE', 'the capture ends inside a line (no CR LF)'));
  return records;
}

function decodeLine(line: string, crcAfterMeasure: Set<string>, crcDefault: boolean): CaptureRecord {
  const bang = line.lastIndexOf('!');
  const reply = line.slice(bang + 1);
  const command = bang < 0 ? undefined : line.slice(line.lastIndexOf('!', bang - 1) + 1, bang + 1);
  const context = command ? commandContext(command, crcAfterMeasure) : guessContext(reply, crcDefault);
  const parsed = parseSdi12Response(reply, context.expect, { crc: context.crc });
  const extra = command ? { command } : {};
  if (!parsed.ok) return captureError('sdi12', parsed.code, parsed.message, { ...extra, raw: line });
  const { ok: _ok, ...fields } = parsed;
  return { protocol: 'sdi12', ok: true, ...extra, ...fields };
}

/** What a command's reply looks like, and whether later aD! replies carry a CRC. */
function commandContext(command: string, crcAfterMeasure: Set<string>): CommandContext {
  const address = command[0] ?? '';
  const letter = command[1] ?? '!';
  const withCrc = command[2] === 'C';
  switch (letter) {
    case 'I':
      return { expect: 'identify', crc: false };
    case 'M':
    case 'C':
    case 'V':
      if (withCrc) crcAfterMeasure.add(address);
      else crcAfterMeasure.delete(address);
      return { expect: 'measure', crc: false };
    case 'D':
      return { expect: 'data', crc: crcAfterMeasure.has(address) };
    case 'R':
      return { expect: 'data', crc: withCrc };
    default:
      return { expect: 'ack', crc: false };
  }
}

function guessContext(reply: string, crc: boolean): CommandContext {
  if (reply.length <= 1) return { expect: 'ack', crc: false };
  if (/^.\d{4,6}$/.test(reply)) return { expect: 'measure', crc: false };
  if (/^.\d\d/.test(reply) && reply.length >= 20) return { expect: 'identify', crc: false };
  return { expect: 'data', crc };
}
