/**
 * A hardware profile = one device model's register map and limits (hardware/profiles/*.yaml).
 * Validated by its own schema; aliases (vendor names for word orders) are normalised here, once.
 */
import { z } from 'zod';
import { DATA_CLASSES } from '../core/types.js';
import { pointQualitySchema } from '../core/schemas.js';

export const REGISTER_KINDS = ['holding', 'input', 'coil', 'discrete'] as const;
export type RegisterKind = (typeof REGISTER_KINDS)[number];

/** sm16: sign-magnitude 16-bit (bit 15 = sign), e.g. Diematic temperatures. */
export const VALUE_TYPES = ['u16', 'i16', 'sm16', 'u32', 'i32', 'f32', 'bool'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export const WORD_ORDERS = ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const;
export type WordOrder = (typeof WORD_ORDERS)[number];

/** Vendor and library names for the four 32-bit orders, folded to one canonical value. */
export const WORD_ORDER_ALIASES: Readonly<Record<string, WordOrder>> = {
  abcd: 'ABCD', 'big-endian': 'ABCD', be: 'ABCD', 'msw-be': 'ABCD', 'high-word-first': 'ABCD',
  cdab: 'CDAB', 'word-swap': 'CDAB', 'little-endian-word-swap': 'CDAB', 'msw-le': 'CDAB', 'low-word-first': 'CDAB', 'mid-little-endian': 'CDAB',
  badc: 'BADC', 'byte-swap': 'BADC', 'big-endian-byte-swap': 'BADC', 'mid-big-endian': 'BADC',
  dcba: 'DCBA', 'little-endian': 'DCBA', le: 'DCBA', 'lsw-le': 'DCBA',
};

export const wordOrder = z
  .string()
  .transform((s, ctx) => {
    const canonical = WORD_ORDER_ALIASES[s.trim().toLowerCase()];
    if (!canonical) {
      ctx.addIssue({ code: 'custom', message: `unknown word order "${s}" (use ABCD, CDAB, BADC or DCBA)` });
      return z.NEVER;
    }
    return canonical;
  });

export { SENML_UNITS, type SenmlUnit } from '../core/units.js';
import { SENML_UNITS } from '../core/units.js';

const registerAddress = z.number().int().min(0).max(0xffff);

export const pointSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/, 'use lowercase letters, digits and _'),
  description: z.string().optional(),
  kind: z.enum(REGISTER_KINDS),
  address: registerAddress.describe('Wire (0-based) address'),
  type: z.enum(VALUE_TYPES).default('u16'),
  order: wordOrder.default('ABCD').describe('32-bit word order; aliases accepted'),
  scale: z.number().default(1).describe('value = raw * scale + offset'),
  offset: z.number().default(0),
  unit: z.enum(SENML_UNITS).optional(),
  class: z.enum(DATA_CLASSES),
  measure: z.enum(['gauge', 'counter']).default('gauge'),
  range: z.tuple([z.number(), z.number()]).optional().describe('Physical range [min, max]'),
  quality: pointQualitySchema.optional().describe('Plausibility checks (docs/data-quality.md); a site may override them per device'),
  rolloverAt: z
    .number()
    .positive()
    .optional()
    .describe('Counters: the value at which the index reads 0 again, after scale (1e9 for a 9-digit index, 4294967296 × scale for a u32)'),
  /** Raw register value meaning "no sensor" (Diematic 0xFFFF). */
  noSensor: z.number().int().optional(),
  /** How the simulator moves this value: around base by amplitude, or a counter growing by rate per hour. */
  sim: z
    .strictObject({
      base: z.number(),
      amplitude: z.number().default(0),
      periodS: z.number().positive().default(600),
      ratePerHour: z.number().optional(),
    })
    .optional(),
});

/** Quality settings that contradict the point itself. */
function checkPointQuality(p: z.output<typeof pointSchema>, ctx: z.RefinementCtx): void {
  if (p.rolloverAt !== undefined && p.measure !== 'counter') {
    ctx.addIssue({ code: 'custom', path: ['rolloverAt'], message: 'rolloverAt applies to counters (measure: counter) only' });
  }
  if (p.quality?.stuckAfter !== undefined && p.measure === 'counter') {
    ctx.addIssue({ code: 'custom', path: ['quality', 'stuckAfter'], message: 'a counter rightly stands still when nothing is consumed: no stuckAfter' });
  }
  if (p.range && p.range[0] > p.range[1]) {
    ctx.addIssue({ code: 'custom', path: ['range'], message: 'range is [min, max], min first' });
  }
}

export const limitsSchema = z.strictObject({
  maxRegistersPerRead: z.number().int().min(1).max(125).default(125),
  maxBitsPerRead: z.number().int().min(1).max(2000).default(2000),
  /** Ranges the device refuses (exception 2): a read must never span them. */
  refuse: z
    .array(z.strictObject({ kind: z.enum(REGISTER_KINDS), start: registerAddress, end: registerAddress }))
    .default([]),
  turnaroundMs: z.number().min(0).default(20).describe('Device processing time before it answers'),
});

export const profileSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  manufacturer: z.string(),
  model: z.string(),
  description: z.string().optional(),
  protocol: z.enum(['modbus']).default('modbus'),
  defaults: z
    .strictObject({
      baud: z.number().int().positive().optional(),
      parity: z.enum(['none', 'even', 'odd']).optional(),
      stopBits: z.union([z.literal(1), z.literal(2)]).optional(),
      unit: z.number().int().min(0).max(255).optional(),
    })
    .default({}),
  limits: limitsSchema.default({ maxRegistersPerRead: 125, maxBitsPerRead: 2000, refuse: [], turnaroundMs: 20 }),
  /** Registers whose values identify the model during a scan. */
  identify: z
    .array(z.strictObject({ kind: z.enum(REGISTER_KINDS), address: registerAddress, equals: z.number().optional() }))
    .default([]),
  points: z.array(pointSchema.superRefine(checkPointQuality)).min(1),
});

export type Profile = z.output<typeof profileSchema>;
export type ProfilePoint = Profile['points'][number];
export type DeviceLimits = Profile['limits'];
