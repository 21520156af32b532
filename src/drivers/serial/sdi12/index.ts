export { crc16arc, sdi12CrcChars } from './crc.js';
export {
  isSdi12Address,
  sdi12Acknowledge,
  sdi12AddressQuery,
  sdi12ChangeAddress,
  sdi12Identify,
  sdi12Measure,
  sdi12Data,
  sdi12Continuous,
  type Sdi12MeasureOptions,
} from './commands.js';
export {
  parseSdi12Response,
  type Sdi12Expect,
  type Sdi12Ack,
  type Sdi12Identity,
  type Sdi12MeasureReply,
  type Sdi12DataReply,
  type Sdi12Failure,
  type Sdi12ErrorCode,
  type Sdi12ParseOptions,
  type Sdi12ReplyByExpect,
} from './response.js';
export * from './timing.js';
export { Sdi12Session, type Sdi12SessionOptions, type Sdi12Step } from './session.js';
export { decodeSdi12Capture, type Sdi12CaptureOptions } from './capture.js';
export { createSdi12Framer } from './framer.js';
