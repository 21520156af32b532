import { PasserelleError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses "500ms", "10s", "5m", "2h", "7d" into milliseconds. */
export function parseDuration(text: string): number {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m) throw new PasserelleError('E_DURATION', `"${text}" is not a duration (write e.g. 500ms, 10s, 5m, 2h, 7d)`);
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export const DAY_MS = 86_400_000;

/** Windows must tile a local day: whole ms, at least 1 s, dividing 24 h evenly. */
export const isValidWindow = (ms: number): boolean => Number.isInteger(ms) && ms >= 1000 && DAY_MS % ms === 0;
