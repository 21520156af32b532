/**
 * Turns zod issues into technician-readable messages pinned to YAML positions. Zod's defaults speak
 * JavaScript ("expected object, received undefined"); a technician edits YAML ("missing key", "a list").
 */
import type { z } from 'zod';
import { formatPath, type ConfigIssue, type ConfigPath } from './errors.js';
import { acceptedKeys, schemaAt, typeDescriptionAt } from './schema-walk.js';
import { RETIRED_VALUES } from './schema.js';
import { didYouMean } from './suggest.js';
import type { ConfigSource } from './yaml-source.js';

type ZodIssue = z.core.$ZodIssue;

/** A problem before it is pinned to the file: where it is, what it says, and whether to point at the key. */
export interface RawIssue {
  path: ConfigPath;
  message: string;
  at?: 'value' | 'key';
}

export function pinIssue(source: ConfigSource, issue: RawIssue): ConfigIssue {
  return { file: source.file, ...source.positionOf(issue.path, issue.at), path: formatPath(issue.path), message: issue.message };
}

const YAML_TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping (key: value lines)',
  array: 'a list',
  string: 'a text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/** How a technician sees a value in the file. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'string') return `"${value}"`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

const valueAt = (data: unknown, path: ConfigPath): unknown =>
  path.reduce<unknown>((v, s) => (v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[s] : undefined), data);

const oneOf = (values: readonly unknown[]): string => values.map(String).join(', ');

/** One zod issue -> one or more raw issues (an unknown-keys issue becomes one per key). */
export function explainZodIssue(schema: z.ZodType, issue: ZodIssue, data: unknown): RawIssue[] {
  const path = issue.path as ConfigPath;
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const accepted = acceptedKeys(schemaAt(schema, path, data), value);
      return issue.keys.map((key) => ({ path: [...path, key], at: 'key', message: `unknown key "${key}"${didYouMean(key, accepted)}` }));
    }
    case 'invalid_type':
      return [{ path, message: invalidType(issue.expected, value, path) }];
    case 'invalid_value':
      return [{ path, message: `${describeValue(value)} is not one of ${oneOf(issue.values)}${suggestValue(value, issue.values)}` }];
    case 'invalid_union':
      return [{ path, message: invalidUnion(schema, issue, data, value) }];
    case 'too_small':
    case 'too_big':
      return [{ path, message: outOfBounds(issue, value) }];
    case 'invalid_format':
    case 'custom':
      // A value that may hold a secret (a password in a URL) is never echoed.
      if (issue.code === 'custom' && issue.params?.secret === true) return [{ path, message: issue.message }];
      return [{ path, message: `${issue.message} (got ${describeValue(value)})` }];
    default:
      return [{ path, message: issue.message }];
  }
}

function invalidType(expected: string, value: unknown, path: ConfigPath): string {
  if (path.length === 0 && (value === null || value === undefined)) return 'the file is empty (a site config needs at least site, gateway and store)';
  if (value === undefined) return `missing required key "${String(path.at(-1))}"`;
  const wanted = YAML_TYPE_NAMES[expected] ?? expected;
  const quotedNumber = expected === 'number' && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value));
  return `expected ${wanted}, got ${describeValue(value)}${quotedNumber ? ' (remove the quotes)' : ''}`;
}

function invalidUnion(schema: z.ZodType, issue: z.core.$ZodIssueInvalidUnion, data: unknown, value: unknown): string {
  const path = issue.path as ConfigPath;
  // Discriminated union (a bus "type"): the issue path already ends at the discriminator.
  const discriminated = issue as { note?: string; options?: unknown[] };
  if (discriminated.note === 'No matching discriminator') {
    const options = discriminated.options ?? [];
    if (value === undefined) return `missing required key "${String(path.at(-1))}" (one of ${oneOf(options)})`;
    return `${describeValue(value)} is not one of ${oneOf(options)}${suggestValue(value, options)}`;
  }
  const branches = issue.errors.map((errors) => errors.find((e) => e.path.length === 0));
  if (branches.every((b) => b?.code === 'invalid_value')) {
    const values = branches.flatMap((b) => (b?.code === 'invalid_value' ? b.values : []));
    return `${describeValue(value)} is not one of ${oneOf(values)}`;
  }
  const description = typeDescriptionAt(schema, path, data);
  if (description) return `expected ${lowerFirst(description)} (got ${describeValue(value)})`;
  return `${describeValue(value)} does not match any accepted form`;
}

function outOfBounds(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig, value: unknown): string {
  const small = issue.code === 'too_small';
  const limit = Number(small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum);
  const inclusive = issue.inclusive !== false;
  if (issue.origin === 'string') return small && limit === 1 ? 'must not be empty' : `must have ${small ? 'at least' : 'at most'} ${limit} characters`;
  if (issue.origin === 'array') return `needs ${small ? 'at least' : 'at most'} ${limit} ${limit === 1 ? 'entry' : 'entries'}`;
  const relation = small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  return `must be ${relation} ${limit} (got ${describeValue(value)})`;
}

function suggestValue(value: unknown, accepted: readonly unknown[]): string {
  if (typeof value !== 'string') return '';
  const why = RETIRED_VALUES[value];
  return why ? `: ${why}` : didYouMean(value, accepted.map(String));
}

const lowerFirst = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
