/** Issue 13 item 9: what a newcomer sees from the command line. */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

describe('a store directory the gateway cannot write', () => {
  const canSwitchUser = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');
  it.skipIf(!canSwitchUser)('run says the directory must be writable (run as nobody), exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-ro-'));
    try {
      mkdirSync(join(dir, 'ro'));
      mkdirSync(join(dir, 'rw'));
      chmodSync(dir, 0o755);
      chmodSync(join(dir, 'ro'), 0o755); // root's: nobody cannot create the database there
      chmodSync(join(dir, 'rw'), 0o777);
      const config = join(dir, 'site.yaml');
      writeFileSync(config, `site: { id: s, name: S }\ngateway: { id: g }\nstore: { path: ${dir}/ro/s.db, keyFile: ${dir}/rw/s.key }\n`, { mode: 0o644 });
      const r = await runCli(['run', '--config', config], { wrapper: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`E_STORE_PERMISSION: store ${dir}/ro/s.db`);
      expect(r.stderr).toContain(`the directory ${dir}/ro must be writable by the user running passerelle`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
