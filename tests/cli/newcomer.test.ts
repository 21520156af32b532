/** Issue 13 item 9: what a newcomer sees from the command line. */
import { execFileSync } from 'node:child_process';
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

  it('the README\'s way to run the CLI from a clone works (dist is built by npm install / npm ci)', () => {
    expect(execFileSync('npm', ['run', '-s', 'passerelle', '--', '--version'], { cwd: ROOT, encoding: 'utf8' }).trim()).toBe(pkg.version);
  }, 60_000);

  it('package.json files lists only what exists (dist is built by prepare)', () => {
    for (const entry of pkg.files.filter((f) => f !== 'dist')) expect(existsSync(join(ROOT, entry)), entry).toBe(true);
  });
});

describe('exit codes (README, "Exit codes")', () => {
  it('wrong options exit 1 whichever command, whoever detects them', async () => {
    const [unknownOption, badIds, badUnit] = await Promise.all([
      runCli(['check', '--bogus', 'x.yaml']),
      runCli(['scan', '--tcp', '127.0.0.1:1', '--ids', '0-999']),
      runCli(['read', '--tcp', '127.0.0.1:1', '--unit', 'one', '--profile', 'soil-dfrobot']),
    ]);
    expect([unknownOption.code, badIds.code, badUnit.code]).toEqual([1, 1, 1]);
    expect(badIds.stderr).toContain('E_CLI_IDS');
  }, 90_000);

  it('README documents them', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/Exit codes, the same for every command/);
    expect(readme).toContain('npm run -s passerelle -- check');
    expect(readme).toContain('mosquitto-clients');
    expect(readme).not.toMatch(/^sudo /m);
  });
});
