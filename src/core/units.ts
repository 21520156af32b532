/**
 * SenML units (RFC 8428 section 12.1 and RFC 8798 secondary units) that our profiles use.
 * Extend from the IANA SenML units registry only.
 */
export const SENML_UNITS = [
  'V', 'A', 'W', 'VA', 'var', 'Wh', 'kWh', 'VAh', 'varh', 'J', 'Hz', 'Cel', 'K', '%RH', '%', '%EL', '/', 'ppm',
  'Pa', 'hPa', 'kPa', 'bar', 'S/m', 'uS/cm', 'm3', 'l', 'm3/s', 'l/s', 'l/min', 'm3/h', 'lx', 'dBA', 's', 'h',
] as const;
export type SenmlUnit = (typeof SENML_UNITS)[number];
