/**
 * Issue 11 item 3: `passerelle run` loads its config in a child process (gateway/site-in-child.ts), so
 * that zod, the schemas and yaml never stay in the gateway's memory. The gateway must get exactly what an
 * in-process load gives (config, profiles, line budget warnings) and the same errors.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/config/errors.js';
import { isPasserelleError } from '../../src/core/errors.js';
import { ConfigRejected } from '../../src/gateway/config-rejected.js';
import { lineBudgetWarnings, loadSite } from '../../src/gateway/load-site.js';
import { loadSiteInChild } from '../../src/gateway/site-in-child.js';
import { ROOT } from '../cli/cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function siteFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'passerelle-site-child-'));
  dirs.push(dir);
  const file = join(dir, 'site.yaml');
  await writeFile(file, text);
  return file;
}

async function thrown(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable('should have thrown'),
    (e: unknown) => e,
  );
}

describe('a site config loaded in a child process', () => {
  it.each(['config/example-school.yaml', 'config/demo.yaml'])('%s: the same config, profiles and warnings as in process', async (name) => {
    const file = join(ROOT, name);
    const site = await loadSite(file);
    const child = await loadSiteInChild(file);
    expect(child.config).toEqual(site.config);
    expect(child.profiles).toEqual(site.profiles);
    expect(child.warnings).toEqual(lineBudgetWarnings(site).map((w) => ({ at: formatIssue(w), message: w.message })));
  }, 30_000);

  it('a refused config: ConfigRejected with the same FILE:LINE:COL lines', async () => {
    const file = await siteFile('site: { id: s, name: S }\ngateway: { id: g }\nbuses:\n  - { id: lan, type: tcp, host: 127.0.0.1, port: 70000 }\n');
    const inProcess = await thrown(loadSite(file));
    const child = await thrown(loadSiteInChild(file));
    expect(inProcess).toBeInstanceOf(ConfigRejected);
    expect(child).toBeInstanceOf(ConfigRejected);
    expect((child as ConfigRejected).lines).toEqual((inProcess as ConfigRejected).lines);
    expect((child as ConfigRejected).lines.some((l) => l.startsWith(`${file}:4:`))).toBe(true);
  }, 30_000);

  it('a missing file: the same error and code', async () => {
    const file = join(tmpdir(), 'passerelle-no-such-site.yaml');
    const inProcess = await thrown(loadSite(file));
    const child = await thrown(loadSiteInChild(file));
    expect(child).toBeInstanceOf((inProcess as object).constructor);
    expect((child as Error).message).toBe((inProcess as Error).message);
    expect(isPasserelleError(child) && child.code).toBe(isPasserelleError(inProcess) && inProcess.code);
  }, 30_000);
});
