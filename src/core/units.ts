/**
 * SenML units that profiles and configs may use. Every one is registered at IANA: "SenML Units"
 * (RFC 8428 section 12.1, RFC 8798 section 2) or "Secondary Units" (RFC 8798 section 3).
 * Extend from the IANA registry only, never by invention: uS/cm, bar, kPa, l/min, m3/h and dBA are NOT
 * registered; a profile gives S/m (uS/cm x 0.0001), Pa (bar x 100000), l/s or m3/s with a matching scale.
 */

/** Registered SenML units. `%`, `l` and `l/s` are registered but NOT RECOMMENDED for new producers (asterisk). */
export const SENML_PRIMARY_UNITS = [
  'V', 'A', 'W', 'VA', 'var', 'J', 'Hz', 'Cel', 'K', '%RH', '%EL', '/', '%', 'Pa', 'S/m',
  'm3', 'l', 'm3/s', 'l/s', 'lx', 's', 'B',
] as const;

/**
 * Registered secondary units (a linear transform of a primary unit). RFC 9100 section 4: a pack using one
 * must announce the Secondary Units feature in its version (bver); the uplink does (senml-build.ts).
 */
export const SENML_SECONDARY_UNITS = ['Wh', 'kWh', 'VAh', 'varh', 'ppm', 'hPa', 'h', 'min', 'ms'] as const;

export const SENML_UNITS = [...SENML_PRIMARY_UNITS, ...SENML_SECONDARY_UNITS] as const;
export type SenmlUnit = (typeof SENML_UNITS)[number];

const SECONDARY: ReadonlySet<string> = new Set(SENML_SECONDARY_UNITS);
export const isSecondaryUnit = (unit: string): boolean => SECONDARY.has(unit);
