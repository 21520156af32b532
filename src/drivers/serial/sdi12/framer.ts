import { LineFramer } from '../framer.js';
import { SDI12_MAX_LINE_BYTES } from './timing.js';

/** Reply lines end CR LF; a line longer than SDI12_MAX_LINE_BYTES is dropped whole and counted. */
export const createSdi12Framer = (): LineFramer => new LineFramer({ delimiter: '\r\n', maxLineBytes: SDI12_MAX_LINE_BYTES });
