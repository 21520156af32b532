/** `passerelle decode --protocol mbus`: a recorded M-Bus byte stream to one JSON line per data record. */
import { NEVER_UPSTREAM } from '../../../core/types.js';
import { captureError, type CaptureRecord } from '../framer.js';
import { recordDataClass } from './classify.js';
import { isRspUd, MbusFrameReader } from './frame.js';
import { statusFlags } from './header.js';
import { parseUserData, type MbusRecord, type MbusTelegram } from './telegram.js';

export interface MbusCaptureOptions {
  /** Print identification numbers, fabrication numbers and customer records in clear. */
  readonly showIdentifiers?: boolean;
}

const HIDDEN = '(hidden identifier)';

export function decodeMbusCapture(bytes: Uint8Array, opts: MbusCaptureOptions = {}): CaptureRecord[] {
  const reader = new MbusFrameReader();
  const out: CaptureRecord[] = [];
  let frame = 0;
  for (const event of reader.push(bytes)) {
    if (event.type === 'error') {
      frame++;
      out.push(captureError('mbus', event.code, event.message, { frame }));
      continue;
    }
    const f = event.frame;
    // The master's requests and the slaves' E5 carry no data: a two-way capture just skips them.
    if (f.kind !== 'long' || !isRspUd(f.c)) continue;
    frame++;
    const parsed = parseUserData(f.ci, f.data);
    if (!parsed.ok) {
      out.push(captureError('mbus', parsed.code, parsed.message, { frame, address: f.a }));
      continue;
    }
    out.push(...telegramRecords(parsed.telegram, frame, f.a, opts.showIdentifiers === true));
  }
  if (reader.bufferedBytes() > 0) out.push(captureError('mbus', 'E_MBUS_INCOMPLETE', 'the capture ends inside a frame', { frame: frame + 1 }));
  return out;
}

function telegramRecords(t: MbusTelegram, frame: number, address: number, show: boolean): CaptureRecord[] {
  const meter = t.header
    ? {
        id: show ? t.header.id : HIDDEN,
        manufacturer: t.header.manufacturer,
        version: t.header.version,
        medium: t.header.mediumName,
        accessNumber: t.header.accessNumber,
        ...(statusFlags(t.header.status).length > 0 ? { status: statusFlags(t.header.status) } : {}),
      }
    : undefined;
  const common = { protocol: 'mbus' as const, frame, address, ...(meter ? { meter } : {}) };
  const out: CaptureRecord[] = t.records.map((r) => recordLine(r, common, show));
  if (t.manufacturerData !== undefined) {
    out.push({ ...common, ok: true, record: t.records.length, quantity: 'manufacturer_specific', value: t.manufacturerData, description: 'Manufacturer-specific data', ...(t.moreFollows ? { moreFollows: true } : {}) });
  }
  if (t.problem) out.push(captureError('mbus', t.problem.code, `${t.problem.message} (byte ${t.problem.at} of the data)`, { frame, address, record: t.records.length }));
  return out;
}

function recordLine(r: MbusRecord, common: Record<string, unknown>, show: boolean): CaptureRecord {
  const dataClass = recordDataClass(r);
  const hidden = NEVER_UPSTREAM.has(dataClass) && !show;
  return {
    ...common,
    protocol: 'mbus',
    ok: true,
    record: r.index,
    quantity: r.quantity,
    value: hidden ? HIDDEN : r.value,
    ...(r.unit ? { unit: r.unit } : {}),
    function: r.function,
    storage: r.storage,
    tariff: r.tariff,
    subunit: r.subunit,
    description: r.description,
    dataClass,
    ...(r.invalid ? { invalid: r.invalid } : {}),
    ...(r.errorCode !== undefined ? { errorCode: r.errorCode } : {}),
    ...(r.quantity === 'manufacturer_specific' && !hidden ? { raw: r.raw } : {}),
  };
}
