/** Issue 13 item 9: what a newcomer sees from the command line. */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from './cli.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; files: string[] };

describe('a newcomer', () => {
  it('passerelle --version prints the package version and exits 0', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  }, 60_000);

  it('package.json files lists only what exists (dist is built by prepare)', () => {
    for (const entry of pkg.files.filter((f) => f !== 'dist')) expect(existsSync(join(ROOT, entry)), entry).toBe(true);
  });
});
