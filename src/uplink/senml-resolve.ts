/** RFC 8428 section 4.6: resolve a pack into records with full names, absolute times and no base fields. */
import { PasserelleError } from '../core/errors.js';
import { isSupportedSenmlVersion, isValidSenmlName, SENML_VERSION, SENML_VERSION_SECONDARY_UNITS, type SenmlRecord } from './senml-types.js';

/** A record after resolution: full name, absolute time, no base fields; `bver` only when not 10 (section 4.6). */
export type ResolvedSenmlRecord = Omit<SenmlRecord, 'bn' | 'bt' | 'bu' | 'bv' | 'bs' | 'n' | 't'> & {
  n: string;
  /** Seconds since the Unix epoch. */
  t: number;
};

/** Times below 2^28 are relative to "now" (section 4.5.3). */
const RELATIVE_TIME_LIMIT = 2 ** 28;

interface Base {
  bn: string;
  bt: number;
  bu?: string;
  bv?: number;
  bs?: number;
  bver: number;
}

export function resolveSenml(records: readonly SenmlRecord[], nowSeconds = Date.now() / 1000): ResolvedSenmlRecord[] {
  const base: Base = { bn: '', bt: 0, bver: SENML_VERSION };
  const resolved = records.map((record) => {
    updateBase(base, record);
    return resolveOne(base, record, nowSeconds);
  });
  // Resolved packs are in chronological order; sort is stable, so equal times keep pack order.
  return resolved.sort((a, b) => a.t - b.t);
}

function updateBase(base: Base, r: SenmlRecord): void {
  if (r.bn !== undefined) base.bn = r.bn;
  if (r.bt !== undefined) base.bt = r.bt;
  if (r.bu !== undefined) base.bu = r.bu;
  if (r.bv !== undefined) base.bv = r.bv;
  if (r.bs !== undefined) base.bs = r.bs;
  if (r.bver !== undefined) {
    if (!isSupportedSenmlVersion(r.bver)) {
      throw new PasserelleError(
        'E_SENML_VERSION',
        `SenML version ${r.bver} is not supported (this reader knows 1 to ${SENML_VERSION}, and ${SENML_VERSION_SECONDARY_UNITS} with secondary units)`,
      );
    }
    base.bver = r.bver;
  }
}

function resolveOne(base: Base, r: SenmlRecord, nowSeconds: number): ResolvedSenmlRecord {
  const n = base.bn + (r.n ?? '');
  if (!isValidSenmlName(n)) {
    throw new PasserelleError('E_SENML_NAME', `"${n}" is not a valid SenML name (RFC 8428 section 4.5.1)`);
  }
  const time = base.bt + (r.t ?? 0);
  const out: ResolvedSenmlRecord = { n, t: time < RELATIVE_TIME_LIMIT ? nowSeconds + time : time };
  const unit = r.u ?? base.bu;
  if (unit !== undefined) out.u = unit;
  const hasOtherValue = r.vs !== undefined || r.vb !== undefined || r.vd !== undefined;
  if (r.v !== undefined || (base.bv !== undefined && !hasOtherValue)) out.v = (base.bv ?? 0) + (r.v ?? 0);
  if (r.vs !== undefined) out.vs = r.vs;
  if (r.vb !== undefined) out.vb = r.vb;
  if (r.vd !== undefined) out.vd = r.vd;
  if (r.s !== undefined || base.bs !== undefined) out.s = (base.bs ?? 0) + (r.s ?? 0);
  if (r.ut !== undefined) out.ut = r.ut;
  if (base.bver !== SENML_VERSION) out.bver = base.bver;
  return out;
}
