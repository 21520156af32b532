import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA_ID, configJsonSchema, renderConfigJsonSchema } from '../../src/config/index.js';

const COMMITTED = join(import.meta.dirname, '..', '..', 'config', 'passerelle.schema.json');

describe('config JSON Schema', () => {
  it('committed config/passerelle.schema.json matches the zod schema (run: npx tsx src/config/write-schema.ts)', async () => {
    expect(await readFile(COMMITTED, 'utf8')).toBe(renderConfigJsonSchema());
  });

  it('describes the input side: durations as text or seconds, strict mappings', () => {
    const schema = configJsonSchema() as { $id: string; properties: Record<string, any>; additionalProperties: boolean; required: string[] };
    expect(schema.$id).toBe(CONFIG_SCHEMA_ID);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['site', 'gateway', 'store']));
    const device = schema.properties.devices.items;
    expect(device.additionalProperties).toBe(false);
    const pollForms = device.properties.poll.anyOf.map((f: { type: string }) => f.type).sort();
    expect(pollForms).toEqual(['number', 'string']);
  });
});
