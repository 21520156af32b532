/**
 * SenML JSON (RFC 8428 section 4) and CBOR (section 6) encoding and a strict decoder, so tests (and
 * operators) can prove a generic reader understands what we send.
 */
import { createRequire } from 'node:module';
import type { Decoder, Encoder } from 'cbor-x';
import { PasserelleError } from '../core/errors.js';
import type { SenmlFormat, SenmlRecord } from './senml-types.js';

type Label = keyof SenmlRecord;

/** RFC 8428 Table 4: CBOR uses these integer map keys instead of the JSON labels. */
export const CBOR_LABELS: Readonly<Record<Label, number>> = {
  bver: -1, bn: -2, bt: -3, bu: -4, bv: -5, bs: -6,
  n: 0, u: 1, v: 2, vs: 3, vb: 4, s: 5, t: 6, ut: 7, vd: 8,
};
const LABEL_OF_CBOR_KEY = new Map<number, Label>(Object.entries(CBOR_LABELS).map(([l, k]) => [k, l as Label]));

const FIELD_TYPES: Readonly<Record<Label, 'string' | 'number' | 'boolean'>> = {
  bn: 'string', bt: 'number', bu: 'string', bv: 'number', bs: 'number', bver: 'number',
  n: 'string', u: 'string', v: 'number', vs: 'string', vb: 'boolean', vd: 'string', s: 'number', t: 'number', ut: 'number',
};

// Maps with integer keys, no cbor-x record extension (tag 105): plain RFC 8949 a generic reader decodes.
// Numbers stay float64 unless integral, so a decoded value equals the original exactly (RFC 8428 section 6).
// Loaded on first use: a site sending SenML JSON never loads cbor-x (memory on the board).
let cbor: { encoder: Encoder; decoder: Decoder } | undefined;
function cborCodec(): { encoder: Encoder; decoder: Decoder } {
  if (cbor) return cbor;
  const lib = createRequire(import.meta.url)('cbor-x') as typeof import('cbor-x');
  cbor = { encoder: new lib.Encoder({ useRecords: false, mapsAsObjects: false }), decoder: new lib.Decoder({ useRecords: false, mapsAsObjects: false }) };
  return cbor;
}

export function encodeSenml(records: readonly SenmlRecord[], format: SenmlFormat): Buffer {
  if (format === 'senml-json') return Buffer.from(JSON.stringify(records), 'utf8');
  return Buffer.from(cborCodec().encoder.encode(records.map(toCborMap)));
}

function toCborMap(record: SenmlRecord): Map<number, unknown> {
  const map = new Map<number, unknown>();
  for (const [label, value] of Object.entries(record) as [Label, unknown][]) {
    if (value === undefined) continue;
    // Data values travel as a CBOR byte string, not as their base64url text.
    map.set(CBOR_LABELS[label], label === 'vd' ? Buffer.from(value as string, 'base64url') : value);
  }
  return map;
}

/** Decodes a SenML pack; throws E_SENML_DECODE on anything that is not a well-typed pack. */
export function decodeSenml(buf: Buffer, format: SenmlFormat): SenmlRecord[] {
  const pack = format === 'senml-json' ? parseJson(buf) : parseCbor(buf);
  if (!Array.isArray(pack)) throw decodeError('the payload is not a SenML array');
  return pack.map((item, i) => {
    if (format === 'senml-cbor') {
      if (!(item instanceof Map)) throw decodeError(`record ${i} is not a CBOR map`);
      return toRecord([...item.entries()].map(([k, v]) => [cborKeyToLabel(k, i), v]), i);
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw decodeError(`record ${i} is not an object`);
    return toRecord(Object.entries(item as Record<string, unknown>), i);
  });
}

function parseJson(buf: Buffer): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw decodeError('the payload is not JSON', e);
  }
}

function parseCbor(buf: Buffer): unknown {
  try {
    return cborCodec().decoder.decode(buf);
  } catch (e) {
    throw decodeError('the payload is not CBOR', e);
  }
}

/** Integer keys are RFC 8428 labels; string keys are extensions (kept only to apply the must-understand rule). */
function cborKeyToLabel(key: unknown, index: number): string {
  if (typeof key === 'string') return key;
  if (typeof key === 'number') return LABEL_OF_CBOR_KEY.get(key) ?? `#${key}`;
  throw decodeError(`record ${index} has a key of type ${typeof key}`);
}

function toRecord(entries: [string, unknown][], index: number): SenmlRecord {
  const record: Record<string, unknown> = {};
  for (const [label, raw] of entries) {
    // RFC 8428 section 4.4: labels ending in "_" must be understood; other unknown labels are ignored.
    if (label.endsWith('_')) throw decodeError(`record ${index} has a must-understand field "${label}"`);
    if (!Object.hasOwn(FIELD_TYPES, label)) continue;
    const value = raw instanceof Uint8Array && label === 'vd' ? Buffer.from(raw).toString('base64url') : raw;
    const expected = FIELD_TYPES[label as Label];
    if (typeof value !== expected || (expected === 'number' && !Number.isFinite(value))) {
      throw decodeError(`record ${index}: field "${label}" should be a ${expected}`);
    }
    record[label] = value;
  }
  return record as SenmlRecord;
}

const decodeError = (message: string, cause?: unknown): PasserelleError =>
  new PasserelleError('E_SENML_DECODE', `Cannot decode SenML: ${message}`, false, { cause });
