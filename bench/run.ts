/**
 * `npm run bench -- NAME [args]`: runs bench/NAME.ts, which exports `run(args)`. With no name, lists them.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const here = import.meta.dirname;
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [args]\navailable: ${available.join(', ')}\n`);
  process.exit(name ? 2 : 0);
}
const bench = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { run?: (args: string[]) => Promise<void> };
if (typeof bench.run !== 'function') {
  process.stderr.write(`bench/${name}.ts does not export run(args)\n`);
  process.exit(2);
}
await bench.run(args);
