import { compileGlob } from '../core/glob.js';

/**
 * Whether a policy `match` glob selects a point key ("device.point"): the uplink policy's own matcher
 * (src/core/glob.ts), so `check` and the policy can never disagree.
 */
export function policyGlobMatches(glob: string, key: string): boolean {
  return compileGlob(glob)(key);
}
