/**
 * Regenerates config/passerelle.schema.json from the zod schema: `npx tsx src/config/write-schema.ts`.
 * (tests/config/jsonschema.test.ts fails while the committed file is stale.)
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderConfigJsonSchema } from './jsonschema.js';

export const SCHEMA_FILE = fileURLToPath(new URL('../../config/passerelle.schema.json', import.meta.url));

export async function writeConfigJsonSchema(file = SCHEMA_FILE): Promise<void> {
  await writeFile(file, renderConfigJsonSchema());
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeConfigJsonSchema();
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
