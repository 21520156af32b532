/**
 * zod pieces that both the site config and the hardware profiles use, so each exists once:
 * a duration, and the quality settings of a point (rules: docs/data-quality.md).
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.js';

/**
 * "10s", "5m", "7d" or a number of seconds. Parsed to whole milliseconds, at least 1: "0s" or 0.0001
 * would round to 0 ms, which no poll, timeout or retention can mean (a poll of 0 ms would spin).
 */
export const duration = z
  .union([
    z.number().positive().describe('seconds'),
    z.string().regex(DURATION_PATTERN, 'write a duration such as 500ms, 10s, 5m, 2h or 7d'),
  ])
  .transform((v) => (typeof v === 'number' ? Math.round(v * 1000) : parseDuration(v)))
  .refine((ms) => ms >= 1, 'a duration must be at least 1ms (0 would mean never waiting)')
  .describe('A duration: 500ms, 10s, 5m, 2h, 7d, or a number of seconds');

export const pointQualitySchema = z.strictObject({
  maxRatePerMinute: z
    .number()
    .positive()
    .optional()
    .describe('Largest plausible change per minute, in the point unit (counters: consumption per minute)'),
  stuckAfter: z
    .number()
    .int()
    .min(2)
    .optional()
    .describe('This many identical values in a row mark the point stuck; only for sensors that always move, never counters'),
  staleAfter: duration.optional().describe('No reading at all for this long marks the point stale'),
});

export type PointQualitySettings = z.output<typeof pointQualitySchema>;
