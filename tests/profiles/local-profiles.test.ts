import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSiteConfig } from '../../src/gateway/load-site.js';
import { profileCheckCommand } from '../../src/cli/commands/profile-actions.js';
import { edit, positionOf, VALID_SITE } from '../config/helpers.js';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'profiles', 'leak-probe.yaml');

describe('site-local profiles (profiles: in the site config)', () => {
  let root: string;
  let dir: string; // the local profile folder, beside the site config
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'passerelle-local-profiles-'));
    dir = join(root, 'profiles');
    mkdirSync(dir);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A site whose device "soil" uses `profile`, with `profiles:` as given. */
  const site = (profiles: string, profile = 'leak-probe'): string => {
    const file = join(root, 'site.yaml');
    writeFileSync(file, `${edit(VALID_SITE, 'profile: soil-dfrobot', `profile: ${profile}`)}profiles:\n${profiles}`);
    return file;
  };

  it('adds a local model to the shipped ones; a relative folder is taken from the config file', async () => {
    writeFileSync(join(dir, 'unused.txt'), 'not a profile');
    copyFileSync(FIXTURE, join(dir, 'leak-probe.yaml'));
    const { result, profiles } = await loadSiteConfig(site('  - profiles\n'));
    expect(result.ok).toBe(true);
    expect(profiles.has('leak-probe')).toBe(true);
    expect(profiles.has('eastron-sdm630')).toBe(true);
  });

  it('without the folder, the device names an unknown profile', async () => {
    copyFileSync(FIXTURE, join(dir, 'leak-probe.yaml'));
    const file = join(root, 'site.yaml');
    writeFileSync(file, edit(VALID_SITE, 'profile: soil-dfrobot', 'profile: leak-probe'));
    const { result } = await loadSiteConfig(file);
    expect(result.ok).toBe(false);
  });

  it('refuses a local id equal to a shipped one, at the local file and line', async () => {
    const local = join(dir, 'eastron-sdm630.yaml');
    const text = `# my own copy\n${readFileSync(join(import.meta.dirname, '..', '..', 'hardware', 'profiles', 'eastron-sdm630.yaml'), 'utf8')}`;
    writeFileSync(local, text);
    const { result } = await loadSiteConfig(site(`  - ${dir}\n`, 'soil-dfrobot'));
    if (result.ok) expect.fail('a shadowing profile must be refused');
    const at = positionOf(text, 'eastron-sdm630', 'id:');
    expect(result.errors).toEqual([
      expect.objectContaining({ file: local, line: at.line, col: at.col, path: 'id', message: expect.stringContaining('already a shipped profile') }),
    ]);
    expect(profileCheckCommand(local)).toBe(1);
  });

  it('reports a broken local profile at its own FILE:LINE:COL, and a missing folder at the config line', async () => {
    const broken = edit(readFileSync(FIXTURE, 'utf8'), 'address: 2\n', 'address: 70000\n');
    writeFileSync(join(dir, 'leak-probe.yaml'), broken);
    const file = site(`  - ${dir}\n  - ${join(dir, 'nowhere')}\n`);
    const { result } = await loadSiteConfig(file);
    if (result.ok) expect.fail('expected problems');
    const text = readFileSync(file, 'utf8');
    expect(result.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: join(dir, 'leak-probe.yaml'), ...positionOf(broken, '70000'), path: expect.stringMatching(/^points\.\d+\.address$/) }),
        expect.objectContaining({ file, ...positionOf(text, join(dir, 'nowhere')), path: 'profiles[1]', message: expect.stringContaining('no such folder') }),
      ]),
    );
  });

  it('profile check passes a good file', () => {
    copyFileSync(FIXTURE, join(dir, 'leak-probe.yaml'));
    expect(profileCheckCommand(join(dir, 'leak-probe.yaml'))).toBe(0);
  });
});
