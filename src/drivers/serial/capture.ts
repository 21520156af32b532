/** `passerelle decode`: a recorded serial stream to JSON-lines records, one per group or reading. */
import type { CaptureRecord } from './framer.js';
import { decodeMbusCapture, type MbusCaptureOptions } from './mbus/capture.js';
import { decodeLineCapture, type LineDecoderOptions } from './line/index.js';
import { decodeSdi12Capture, type Sdi12CaptureOptions } from './sdi12/index.js';
import { decodeTicCapture, type TicCaptureOptions } from './tic/index.js';

export type CaptureProtocol = 'tic' | 'sdi12' | 'line' | 'mbus';

export interface CaptureOptions {
  readonly tic?: TicCaptureOptions;
  readonly sdi12?: Sdi12CaptureOptions;
  readonly line?: LineDecoderOptions;
  readonly mbus?: MbusCaptureOptions;
}

/** Each record is ok, or carries { error: { code, message } }. */
export function decodeCapture(protocol: CaptureProtocol, bytes: Uint8Array, opts: CaptureOptions = {}): CaptureRecord[] {
  switch (protocol) {
    case 'tic':
      return decodeTicCapture(bytes, opts.tic);
    case 'sdi12':
      return decodeSdi12Capture(bytes, opts.sdi12);
    case 'line':
      return decodeLineCapture(bytes, opts.line);
    case 'mbus':
      return decodeMbusCapture(bytes, opts.mbus);
  }
}
