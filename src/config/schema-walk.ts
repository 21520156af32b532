/**
 * Reads the zod schema's structure at a field path, to tell a technician which keys or values would
 * have been accepted there. The schema stays the only source: nothing here lists keys by hand.
 */
import type { z } from 'zod';
import type { ConfigPath } from './errors.js';

/** The few definition fields we read; zod 4 keeps them on `schema._zod.def`. */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Skips wrappers that do not change the shape: defaults, optionals, and transforms (their input side). */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
    if (!inner) return current;
    current = inner;
  }
}

/** Object options of a union; a discriminated union picks the option the data names, when it names one. */
function unionOptions(def: Def, data: unknown): z.ZodType[] {
  const options = (def.options ?? []).map(unwrap);
  if (!def.discriminator || !isRecord(data)) return options;
  const wanted = data[def.discriminator];
  const picked = options.filter((o) => literalValues(defOf(o).shape?.[def.discriminator!]).includes(wanted));
  return picked.length > 0 ? picked : options;
}

/** The child schema (still wrapped) for one path segment, or undefined when the schema has no such field. */
function childSchema(parent: z.ZodType, segment: string | number, parentData: unknown): z.ZodType | undefined {
  const def = defOf(parent);
  if (def.type === 'object') return def.shape?.[String(segment)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  if (def.type === 'union') return unionOptions(def, parentData).map((o) => defOf(o).shape?.[String(segment)]).find((s) => s !== undefined);
  return undefined;
}

const childData = (value: unknown, segment: string | number): unknown =>
  isRecord(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[segment] : undefined;

/** The wrapped schema at a path (root itself for []), or undefined when the path leaves the schema. */
function wrappedAt(root: z.ZodType, path: ConfigPath, data: unknown): z.ZodType | undefined {
  let schema: z.ZodType | undefined = root;
  let value = data;
  for (const segment of path) {
    if (!schema) return undefined;
    schema = childSchema(unwrap(schema), segment, value);
    value = childData(value, segment);
  }
  return schema;
}

/** The schema (unwrapped) at a path, or undefined when the path leaves the schema. */
export function schemaAt(root: z.ZodType, path: ConfigPath, data: unknown): z.ZodType | undefined {
  const schema = wrappedAt(root, path, data);
  return schema && unwrap(schema);
}

/** Keys a mapping at this schema accepts (object keys, enum record keys, union members' keys). */
export function acceptedKeys(schema: z.ZodType | undefined, data: unknown): string[] {
  if (!schema) return [];
  const def = defOf(schema);
  if (def.type === 'object') return Object.keys(def.shape ?? {});
  if (def.type === 'record' && def.keyType) return literalValues(unwrap(def.keyType)).map(String);
  if (def.type === 'union') return [...new Set(unionOptions(def, data).flatMap((o) => acceptedKeys(o, data)))];
  return [];
}

/** Values an enum or literal accepts ([] for anything else). */
export function literalValues(schema: z.ZodType | undefined): unknown[] {
  if (!schema) return [];
  const def = defOf(unwrap(schema));
  if (def.type === 'enum') return Object.values(def.entries ?? {});
  if (def.type === 'literal') return def.values ?? [];
  return [];
}

/**
 * The innermost `.describe()` text on the way from the field to its type: for a bus timeout that is
 * the duration's "A duration: 500ms, ..." rather than the field's "Per-request answer timeout".
 */
export function typeDescriptionAt(root: z.ZodType, path: ConfigPath, data: unknown): string | undefined {
  let schema = wrappedAt(root, path, data);
  let description: string | undefined;
  while (schema) {
    description = schema.description ?? description;
    const def = defOf(schema);
    schema = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  }
  return description;
}

export const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
