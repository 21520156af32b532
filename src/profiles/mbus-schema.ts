/**
 * An M-Bus meter profile (hardware/profiles/mbus/*.yaml): which data records of the meter's telegram
 * become which named points. A record is found by what it measures (quantity) and where it sits
 * (function, storage, tariff, subunit), not by its byte position, so a firmware that adds a record or
 * changes a VIF's exponent does not shift or rescale the points.
 */
import { z } from 'zod';
import { DATA_CLASSES } from '../core/types.js';
import { SENML_UNITS } from '../core/units.js';
import { pointQualitySchema } from '../core/schemas.js';
import { MBUS_FUNCTIONS, MBUS_QUANTITY_NAMES } from './mbus-quantities.js';

export const mbusRecordSelectorSchema = z.strictObject({
  quantity: z.enum(MBUS_QUANTITY_NAMES).describe('What the record measures (its VIF), e.g. energy, volume, flow_temperature'),
  function: z.enum(MBUS_FUNCTIONS).default('instantaneous'),
  storage: z.number().int().min(0).default(0).describe('0: now; 1, 2...: stored values (e.g. at the last due date)'),
  tariff: z.number().int().min(0).default(0),
  subunit: z.number().int().min(0).default(0),
  plainText: z.string().min(1).optional().describe('quantity plain_text only: the unit label the meter sends, e.g. "bat. time"'),
});

export const mbusPointSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]+$/, 'use lowercase letters, digits and _'),
  description: z.string().optional(),
  record: mbusRecordSelectorSchema,
  unit: z.enum(SENML_UNITS).optional().describe("The point's unit; the decoder's base unit is converted (Wh to kWh, m3 to l, s to h)"),
  class: z.enum(DATA_CLASSES),
  measure: z.enum(['gauge', 'counter']).default('gauge'),
  range: z.tuple([z.number(), z.number()]).optional(),
  quality: pointQualitySchema.optional(),
  rolloverAt: z.number().positive().optional(),
  /** How the simulator moves this value (in the point's unit): around base, or growing by ratePerHour. */
  sim: z
    .strictObject({ base: z.number(), amplitude: z.number().default(0), periodS: z.number().positive().default(600), ratePerHour: z.number().min(0).optional() })
    .optional(),
});

export const mbusProfileSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  protocol: z.literal('mbus'),
  manufacturer: z.string(),
  model: z.string(),
  description: z.string().optional(),
  /** How a scan recognises the meter: its FLAG code, and optionally media and versions. */
  match: z
    .strictObject({
      manufacturer: z.string().regex(/^[A-Z]{3}$/, 'the three-letter FLAG code, e.g. KAM'),
      media: z.array(z.number().int().min(0).max(255)).optional(),
      versions: z.array(z.number().int().min(0).max(255)).optional(),
    })
    .optional(),
  /** The generic profile: every record is a point, named from what it is (see mbusGenericPointName). */
  generic: z.boolean().default(false),
  defaults: z.strictObject({ baud: z.number().int().positive().default(2400) }).prefault({}),
  /** Who the simulator says it is. */
  sim: z
    .strictObject({ id: z.string().regex(/^[0-9]{8}$/), manufacturer: z.string().regex(/^[A-Z]{3}$/), version: z.number().int().min(0).max(255), medium: z.number().int().min(0).max(255) })
    .optional(),
  points: z.array(mbusPointSchema).default([]),
});

export type MbusProfile = z.output<typeof mbusProfileSchema>;
export type MbusProfilePoint = MbusProfile['points'][number];
export type MbusRecordSelector = z.output<typeof mbusRecordSelectorSchema>;
