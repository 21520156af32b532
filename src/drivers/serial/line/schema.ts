/**
 * Config fragment of a generic ASCII line device, for the lead to merge into the site config schema.
 * Either `pattern` (a regex with named groups) or pairs like `T=21.4;H=40` split by the separators.
 */
import { z } from 'zod';
import { DATA_CLASSES } from '../../../core/types.js';
import { SENML_UNITS } from '../../../core/units.js';
import { compileLinePattern, namedGroups } from './pattern.js';

export const DEFAULT_MAX_LINE_BYTES = 256;

const fieldName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,31}$/, 'a field name is a letter or _ then up to 31 letters, digits or _');

export const lineFieldSchema = z.strictObject({
  unit: z.enum(SENML_UNITS).optional().describe('SenML unit of value * scale'),
  class: z.enum(DATA_CLASSES).describe('Data class, for the upstream policy'),
  scale: z.number().default(1).describe('value = raw * scale'),
  measure: z.enum(['gauge', 'counter']).default('gauge'),
});

export const lineDeviceOptionsSchema = z
  .strictObject({
    delimiter: z.string().min(1).max(8).default('\n').describe('End of a line; a CR before a LF delimiter is dropped'),
    pattern: z
      .string()
      .min(1)
      .superRefine((source, ctx) => {
        const compiled = compileLinePattern(source);
        if (typeof compiled === 'string') ctx.addIssue({ code: 'custom', message: compiled });
      })
      .optional()
      .describe('Regular expression with named groups, e.g. T=(?<T>[-0-9.]+);H=(?<H>[0-9.]+)'),
    pairSeparator: z.string().min(1).default(';').describe('Between key=value pairs, when no pattern is set'),
    kvSeparator: z.string().min(1).default('=').describe('Between a key and its value, when no pattern is set'),
    maxLineBytes: z.number().int().min(8).max(65_536).default(DEFAULT_MAX_LINE_BYTES).describe('Longer lines are dropped and counted'),
    fields: z.record(fieldName, lineFieldSchema).optional().describe('Fields kept, by name, each with its data class (required in a site config; decode shows every numeric field when absent)'),
  })
  .superRefine((opts, ctx) => {
    if (opts.pairSeparator === opts.kvSeparator) {
      ctx.addIssue({ code: 'custom', path: ['kvSeparator'], message: 'kvSeparator must differ from pairSeparator' });
    }
    if (opts.pattern === undefined || opts.fields === undefined) return;
    const compiled = compileLinePattern(opts.pattern);
    if (typeof compiled === 'string') return;
    const groups = new Set(namedGroups(compiled));
    for (const name of Object.keys(opts.fields)) {
      if (!groups.has(name)) ctx.addIssue({ code: 'custom', path: ['fields', name], message: `field "${name}" has no (?<${name}>...) group in pattern` });
    }
  });

export type LineDeviceOptions = z.output<typeof lineDeviceOptionsSchema>;
export type LineDeviceOptionsInput = z.input<typeof lineDeviceOptionsSchema>;
export type LineField = z.output<typeof lineFieldSchema>;
