/**
 * Whether a policy `match` glob selects a point key ("device.point"). The same rule as the uplink's
 * policy (src/uplink/policy.ts): `*` matches any run of characters, dots included; every other character
 * is literal. Kept here because config may not import uplink; replace this one function if the policy's
 * matcher changes (tests/config/policy-points.test.ts checks the two agree).
 */
export function policyGlobMatches(glob: string, key: string): boolean {
  const literal = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${literal.join('.*')}$`).test(key);
}
