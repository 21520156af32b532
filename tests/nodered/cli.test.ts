/** `check` and `passerelle nodered passwd` as a technician runs them. */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NODE_RED_EXAMPLE_HASH, passwordProblem, readAdminHash, writeAdminHash } from '../../src/nodered/password.js';
import { ROOT, runCli } from '../cli/cli.js';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'nr-cli-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

function site(nodered: string): string {
  const file = join(dir, 'site.yaml');
  writeFileSync(
    file,
    `site: {id: s1, name: School}\ngateway: {id: g1}\nstore: {path: ${dir}/s.db, keyFile: ${dir}/s.key}\nnodered:\n  dir: ${dir}/nr\n  socket: ${dir}/nr/bridge.sock\n${nodered}`,
  );
  return file;
}

function passwd(file: string, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/cli/main.ts', 'nodered', 'passwd', '--config', file, '--stdin'], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('check', () => {
  it('refuses an editor on the LAN without TLS, at the line of host', async () => {
    const file = site('  host: 0.0.0.0\n');
    const r = await runCli(['check', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${file}:7:\\d+ nodered\\.host: .*without TLS`));
  }, 120_000);

  it('accepts it with TLS, and warns while no editor password is set', async () => {
    const r = await runCli(['check', site(`  host: 0.0.0.0\n  tls: {certFile: ${dir}/c.pem, keyFile: ${dir}/k.pem}\n`)]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/nodered: warning: no Node-RED editor password is set/);
  }, 120_000);
});

describe('check and passerelle nodered prepare with supervisor: systemd', () => {
  const systemdSite = (nodered: string) => {
    const file = join(dir, 'site.yaml');
    writeFileSync(file, `site: {id: s1, name: School}\ngateway: {id: g1}\nstore: {path: ${dir}/s.db, keyFile: ${dir}/s.key}\nnodered:\n  supervisor: systemd\n${nodered}`);
    return file;
  };

  it('check warns, at the line of maxOldSpaceMB, when the heap outgrows the unit\'s memory limits', async () => {
    const r = await runCli(['check', systemdSite('  maxOldSpaceMB: 400\n')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/site\.yaml:6:\d+ nodered\.maxOldSpaceMB: warning: .*MemoryHigh=496M, MemoryMax=528M/);
    expect((await runCli(['check', systemdSite('')])).stderr).not.toMatch(/MemoryMax/);
  }, 120_000);

  it('prepare answers as ExecCondition= reads it: 1 (skip) without a section, 255 (fail) for a broken config', async () => {
    const none = join(dir, 'none.yaml');
    writeFileSync(none, `site: {id: s1, name: School}\ngateway: {id: g1}\nstore: {path: ${dir}/s.db, keyFile: ${dir}/s.key}\n`);
    const skipped = await runCli(['nodered', 'prepare', '--config', none]);
    expect([skipped.code, skipped.stderr]).toEqual([1, expect.stringContaining('no nodered: section')]);
    const broken = await runCli(['nodered', 'prepare', '--config', systemdSite('  runAs: nobody\n')]);
    expect([broken.code, broken.stderr]).toEqual([255, expect.stringMatching(/site\.yaml:6:\d+ nodered\.runAs: .*passerelle-flows/)]);
  }, 120_000);
});

describe('passerelle nodered passwd', () => {
  it('refuses empty, short and published passwords and writes nothing', async () => {
    const file = site('');
    for (const bad of ['\n', 'password\n']) {
      const r = await passwd(file, bad);
      expect(r.code, bad).toBe(1);
      expect(r.stderr).toMatch(/password refused/);
    }
    expect(() => statSync(join(dir, 'nr', 'admin.bcrypt'))).toThrow();
    expect(passwordProblem('short')).toMatch(/shorter than 10/);
    expect(passwordProblem('Password123')).toMatch(/published default/);
    expect(passwordProblem('   ')).toMatch(/empty/);
    expect(passwordProblem('marronnier-42-cour')).toBeUndefined();
  }, 120_000);

  it('writes a bcrypt hash, mode 0600, that the gateway accepts; check then stops warning', async () => {
    const file = site('');
    const r = await passwd(file, 'marronnier-42-cour\n');
    expect(r.code, r.stderr).toBe(0);
    const hashFile = join(dir, 'nr', 'admin.bcrypt');
    expect(statSync(hashFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(hashFile, 'utf8')).not.toContain('marronnier');
    expect(readAdminHash(hashFile)).toMatch(/^\$2[aby]\$10\$/);
    expect((await runCli(['check', file])).stderr).not.toMatch(/password/);
  }, 120_000);
});

describe('the admin hash file', () => {
  it("refuses Node-RED's example hash and a hash of a published password", () => {
    const file = join(dir, 'admin.bcrypt');
    writeAdminHash(file, NODE_RED_EXAMPLE_HASH);
    expect(() => readAdminHash(file)).toThrow(/published example hash/);
    writeAdminHash(file, bcrypt.hashSync('admin', 8)); // as `node-red admin hash-pw` makes it
    expect(() => readAdminHash(file)).toThrow(/published default/);
  });

  it('refuses a file others can read', () => {
    const file = join(dir, 'admin.bcrypt');
    writeFileSync(file, '$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234', { mode: 0o644 });
    expect(() => readAdminHash(file)).toThrow(/chmod 600/);
  });
});
