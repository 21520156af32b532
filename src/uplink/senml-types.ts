/** SenML (RFC 8428) record shape and name rules, shared by the builder, the codec and the resolver. */
import type { UplinkConfig } from '../config/schema.js';

/** One SenML record with the RFC 8428 labels (section 4.1). `vd` is base64url text, as in JSON. */
export interface SenmlRecord {
  bn?: string;
  bt?: number;
  bu?: string;
  bv?: number;
  bs?: number;
  bver?: number;
  n?: string;
  u?: string;
  v?: number;
  vs?: string;
  vb?: boolean;
  vd?: string;
  s?: number;
  t?: number;
  ut?: number;
}

export type SenmlFormat = UplinkConfig['format'];

/** RFC 8428 section 4.5.1: the concatenated name (base name + name) must match this. */
export const SENML_NAME = /^[A-Za-z0-9][-:./_A-Za-z0-9]*$/;

export const isValidSenmlName = (name: string): boolean => SENML_NAME.test(name);

/** The SenML version of RFC 8428; a pack with a higher bver must not be used (section 4.4). */
export const SENML_VERSION = 10;

/**
 * RFC 9100: bver is a bitmap of features; 10 is the RFC 8428 base (feature codes 1 and 3), the
 * Secondary Units feature is code 5. A pack using a secondary unit in "u" carries 10 + 2^5 = 42.
 */
export const SENML_VERSION_SECONDARY_UNITS = SENML_VERSION | (1 << 5);

/** Versions this reader understands: the legacy 1..10, or any bitmap of features it knows (RFC 9100 section 2.2). */
export const isSupportedSenmlVersion = (v: number): boolean =>
  Number.isSafeInteger(v) && v >= 1 && (v <= SENML_VERSION || (v & ~SENML_VERSION_SECONDARY_UNITS) === 0);

/** Default bound on one MQTT payload; larger summaries are split into several messages. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024;
