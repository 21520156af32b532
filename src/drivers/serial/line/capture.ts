/** Decodes a recorded ASCII line stream into JSON-lines records (`passerelle decode --protocol line`). */
import { captureError, type CaptureRecord } from '../framer.js';
import { LineDecoder, type LineDecoderOptions } from './decoder.js';

export function decodeLineCapture(bytes: Uint8Array, opts: LineDecoderOptions = {}): CaptureRecord[] {
  const decoder = new LineDecoder(opts);
  const records: CaptureRecord[] = [];
  const events = decoder.push(bytes);
  // A text file's last line often lacks its delimiter: end of file ends the line.
  if (decoder.bufferedBytes() > 0) events.push(...decoder.push(Buffer.from(opts.delimiter ?? '\n', 'latin1')));
  for (const event of events) {
    if (event.type === 'reading') records.push({ protocol: 'line', ok: true, values: { ...event.values } });
    else if (event.type === 'field-error') records.push(captureError('line', event.code, event.message, { field: event.field }));
    else records.push(captureError('line', event.code, event.message));
  }
  return records;
}
