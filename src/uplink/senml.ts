/** SenML (RFC 8428) for window summaries: build, encode/decode (JSON, CBOR), resolve, split. */
export { senmlBaseName, summaryToSenml } from './senml-build.js';
export { CBOR_LABELS, decodeSenml, encodeSenml } from './senml-codec.js';
export { resolveSenml, type ResolvedSenmlRecord } from './senml-resolve.js';
export { encodeSummary, partId, type EncodedPart } from './senml-split.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  isValidSenmlName,
  SENML_NAME,
  type SenmlFormat,
  type SenmlRecord,
} from './senml-types.js';
