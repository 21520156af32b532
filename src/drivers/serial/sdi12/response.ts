/**
 * SDI-12 reply parser. Parses by position, never throws: a malformed reply becomes
 * `{ ok: false, code, message }` so a driver can retry or count it.
 */
import { isSdi12Address } from './commands.js';
import { crc16arc, sdi12CrcChars } from './crc.js';

export type Sdi12Expect = 'ack' | 'identify' | 'measure' | 'data';

export interface Sdi12Ack { readonly ok: true; readonly kind: 'ack'; readonly address: string }

export interface Sdi12Identity {
  readonly ok: true;
  readonly kind: 'identify';
  readonly address: string;
  /** "1.3" from "13". */
  readonly sdiVersion: string;
  readonly vendor: string;
  readonly model: string;
  readonly version: string;
  /** Optional trailing field (serial number or other); empty when absent. */
  readonly serial: string;
}

export interface Sdi12MeasureReply {
  readonly ok: true;
  readonly kind: 'measure';
  readonly address: string;
  /** Seconds until the values are ready (0: ready now). */
  readonly seconds: number;
  /** How many values the measurement yields. */
  readonly count: number;
}

export interface Sdi12DataReply { readonly ok: true; readonly kind: 'data'; readonly address: string; readonly values: number[] }

export type Sdi12ErrorCode = 'E_SDI12_EMPTY' | 'E_SDI12_ADDRESS' | 'E_SDI12_FORMAT' | 'E_SDI12_CRC';
export interface Sdi12Failure { readonly ok: false; readonly code: Sdi12ErrorCode; readonly message: string }

export interface Sdi12ReplyByExpect {
  ack: Sdi12Ack;
  identify: Sdi12Identity;
  measure: Sdi12MeasureReply;
  data: Sdi12DataReply;
}

export interface Sdi12ParseOptions {
  /** The reply ends with a 3-char CRC (data replies after aMC!, aCC!, aRC0!). */
  readonly crc?: boolean;
  /** The address the command was sent to; another address is an error. */
  readonly address?: string;
}

const fail = (code: Sdi12ErrorCode, message: string): Sdi12Failure => ({ ok: false, code, message });
/** Printable ASCII, plus DEL: a CRC char is 0x40 | 6 bits, up to 0x7F. */
const PRINTABLE = /^[\x20-\x7f]*$/;
const MEASURE = /^(\d{3})(\d{1,3})$/;
/** The identify layout: a, ll, vendor 8, model 6, version 3, then up to 13 optional chars. */
const IDENTIFY_MIN = 20;
const IDENTIFY_MAX = 33;

export function parseSdi12Response<E extends Sdi12Expect>(line: string, expect: E, opts: Sdi12ParseOptions = {}): Sdi12ReplyByExpect[E] | Sdi12Failure {
  let text = line.endsWith('\r\n') ? line.slice(0, -2) : line;
  if (text.length === 0) return fail('E_SDI12_EMPTY', `empty reply to an SDI-12 ${expect} command`);
  if (!PRINTABLE.test(text)) return fail('E_SDI12_FORMAT', 'reply holds non-printable characters (is the port 1200 baud 7E1?)');
  const address = text[0] as string;
  if (!isSdi12Address(address)) return fail('E_SDI12_ADDRESS', `reply starts with "${address}", not an SDI-12 address`);
  if (opts.address !== undefined && address !== opts.address) {
    return fail('E_SDI12_ADDRESS', `reply from sensor "${address}" while sensor "${opts.address}" was asked`);
  }
  if (opts.crc) {
    const checked = stripCrc(text);
    if (typeof checked !== 'string') return checked;
    text = checked;
  }
  const body = text.slice(1);
  const result = PARSERS[expect](address, body);
  return result as Sdi12ReplyByExpect[E] | Sdi12Failure;
}

const PARSERS: { [K in Sdi12Expect]: (address: string, body: string) => Sdi12ReplyByExpect[K] | Sdi12Failure } = {
  ack: (address, body) => (body.length === 0 ? { ok: true, kind: 'ack', address } : fail('E_SDI12_FORMAT', `acknowledge expected, got "${address}${body}"`)),
  identify: parseIdentify,
  measure: parseMeasure,
  data: parseData,
};

function stripCrc(text: string): string | Sdi12Failure {
  if (text.length < 4) return fail('E_SDI12_CRC', 'reply too short to carry a CRC');
  const payload = text.slice(0, -3);
  const expected = sdi12CrcChars(crc16arc(payload));
  const received = text.slice(-3);
  if (received !== expected) return fail('E_SDI12_CRC', `CRC "${received}" received, "${expected}" computed: reply corrupted`);
  return payload;
}

function parseIdentify(address: string, body: string): Sdi12Identity | Sdi12Failure {
  const length = body.length + 1;
  if (length < IDENTIFY_MIN || length > IDENTIFY_MAX) {
    return fail('E_SDI12_FORMAT', `identification is ${length} chars, expected ${IDENTIFY_MIN} to ${IDENTIFY_MAX}`);
  }
  const ll = body.slice(0, 2);
  if (!/^\d\d$/.test(ll)) return fail('E_SDI12_FORMAT', `SDI-12 version "${ll}" is not two digits`);
  return {
    ok: true,
    kind: 'identify',
    address,
    sdiVersion: `${ll[0]}.${ll[1]}`,
    vendor: body.slice(2, 10).trimEnd(),
    model: body.slice(10, 16).trimEnd(),
    version: body.slice(16, 19).trimEnd(),
    serial: body.slice(19).trim(),
  };
}

function parseMeasure(address: string, body: string): Sdi12MeasureReply | Sdi12Failure {
  const m = MEASURE.exec(body);
  if (!m) return fail('E_SDI12_FORMAT', `measurement reply "${address}${body}" is not atttn (seconds, value count)`);
  return { ok: true, kind: 'measure', address, seconds: Number(m[1]), count: Number(m[2]) };
}

/** `+1.23-4.5+6`: each value is a sign then digits with at most one decimal point. */
function parseData(address: string, body: string): Sdi12DataReply | Sdi12Failure {
  const values: number[] = [];
  let i = 0;
  while (i < body.length) {
    const start = i;
    const sign = body.charCodeAt(i);
    if (sign !== 0x2b && sign !== 0x2d) return fail('E_SDI12_FORMAT', `value ${values.length + 1} does not start with + or - in "${body}"`);
    i++;
    let digits = 0;
    let points = 0;
    for (; i < body.length; i++) {
      const c = body.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) digits++;
      else if (c === 0x2e) points++;
      else break;
    }
    if (digits === 0 || points > 1) return fail('E_SDI12_FORMAT', `"${body.slice(start, i)}" is not an SDI-12 value`);
    values.push(Number(body.slice(start, i)));
  }
  return { ok: true, kind: 'data', address, values };
}
