/** Decodes a recorded TIC byte stream into JSON-lines records (`passerelle decode --protocol tic`). */
import { captureError, type CaptureRecord } from '../framer.js';
import { TicDecoder, type TicDecoderOptions, type TicGroupEvent } from './decoder.js';
import { TIC_LABELS, ticNumericValue } from './labels.js';

export interface TicCaptureOptions extends TicDecoderOptions {
  /** Print ADCO/ADSC/PRM in clear. Off by default: they identify a household's meter. */
  readonly showIdentifiers?: boolean;
}

export function decodeTicCapture(bytes: Uint8Array, opts: TicCaptureOptions = {}): CaptureRecord[] {
  const decoder = new TicDecoder(opts);
  const records: CaptureRecord[] = [];
  let frame = 1;
  for (const event of decoder.push(bytes)) {
    switch (event.type) {
      case 'group':
        records.push(groupRecord(event, frame, opts.showIdentifiers === true));
        break;
      case 'group-error':
        records.push(captureError('tic', event.code, event.message, { frame, raw: shownRaw(event.raw, opts.showIdentifiers === true) }));
        break;
      case 'frame-error':
        records.push(captureError('tic', event.code, event.message, { frame }));
        frame++;
        break;
      case 'frame':
        frame++;
    }
  }
  if (decoder.bufferedBytes() > 0) {
    records.push(captureError('tic', 'E_TIC_INCOMPLETE', 'the capture ends inside a frame (no ETX)', { frame }));
  }
  return records;
}

function groupRecord(event: TicGroupEvent, frame: number, showIdentifiers: boolean): CaptureRecord {
  const info = TIC_LABELS[event.label];
  const hidden = info?.dataClass === 'identifier' && !showIdentifiers;
  return {
    protocol: 'tic',
    ok: true,
    frame,
    mode: event.mode,
    label: event.label,
    value: hidden ? '(hidden identifier)' : (ticNumericValue(event.label, event.value) ?? (info || showIdentifiers ? event.value : maskDigitRuns(event.value))),
    ...(info?.unit ? { unit: info.unit } : {}),
    ...(info ? { dataClass: info.dataClass } : {}),
    ...(event.horodate ? { horodate: event.horodate.iso, ...(event.horodate.degraded ? { clockDegraded: true } : {}) } : {}),
  };
}

/**
 * A bad group's raw text, unless it looks like an identifier group (a checksum error does not make it
 * less personal). Noise may also hit the label (ADCO -> ADCN), so every run of MASKED_DIGIT_RUN or more
 * digits is masked as well: meter identifiers are 12 digits (PRM 14), and one bad character in the
 * middle still leaves a run of 6.
 */
function shownRaw(raw: string, showIdentifiers: boolean): string {
  if (showIdentifiers) return raw;
  const label = /^[^\t ]*/.exec(raw)?.[0] ?? '';
  return TIC_LABELS[label]?.dataClass === 'identifier' ? `${label} (hidden identifier)` : maskDigitRuns(raw);
}

/** Shorter runs (a 3-digit current, a 5-digit power) stay readable; an index's 9 digits are masked too. */
export const MASKED_DIGIT_RUN = 5;
const DIGIT_RUN = new RegExp(`[0-9]{${MASKED_DIGIT_RUN},}`, 'g');

export const maskDigitRuns = (text: string): string => text.replace(DIGIT_RUN, (run) => '#'.repeat(run.length));
