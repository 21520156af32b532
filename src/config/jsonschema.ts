/**
 * The JSON Schema editors use to autocomplete and check site configs (e.g. VS Code's YAML extension with
 * `# yaml-language-server: $schema=passerelle.schema.json`). Generated from the zod schema, never hand-edited:
 * config/passerelle.schema.json is this output, and a test fails when it is stale.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

export const CONFIG_SCHEMA_ID = 'urn:passerelle:site-config';

/** The input side: what a technician writes ("10s"), not what the runtime holds (10000). */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, { io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: CONFIG_SCHEMA_ID,
    title: 'Passerelle site configuration',
    description: 'One gateway per building: buses, devices, aggregation, encrypted store, uplink and the policy of what may leave the site.',
    ...rest,
  };
}

/** The exact text of config/passerelle.schema.json. */
export const renderConfigJsonSchema = (): string => `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
