export { LineDecoder, type LineDecoderOptions, type LineEvent, type LineStats } from './decoder.js';
export {
  lineDeviceOptionsSchema,
  lineFieldSchema,
  DEFAULT_MAX_LINE_BYTES,
  type LineDeviceOptions,
  type LineDeviceOptionsInput,
  type LineField,
} from './schema.js';
export { compileLinePattern, namedGroups, parseDecimal } from './pattern.js';
export { decodeLineCapture } from './capture.js';
