export { checksumTic, STX, ETX, EOT, type TicMode } from './checksum.js';
export { parseTicHorodate, formatTicHorodate, type TicHorodate, type TicSeason } from './horodate.js';
export { parseTicGroup, isTicGroupFault, type TicGroup, type TicGroupFault, type TicGroupErrorCode } from './group.js';
export {
  TicDecoder,
  DEFAULT_MAX_FRAME_BYTES,
  type TicDecoderOptions,
  type TicEvent,
  type TicGroupEvent,
  type TicGroupErrorEvent,
  type TicFrameEvent,
  type TicFrameErrorEvent,
  type TicStats,
} from './decoder.js';
export { TIC_LABELS, ticNumericValue, type TicLabelInfo, type SenmlUnit } from './labels.js';
export { encodeTicGroup, encodeTicFrame, type TicGroupInput } from './encode.js';
export { decodeTicCapture, type TicCaptureOptions } from './capture.js';
