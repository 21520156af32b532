import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { profileImportCommand } from '../../src/cli/commands/profile-actions.js';
import { runCli } from './cli.js';

describe('passerelle profile import --csv / profile check', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'passerelle-profile-cli-'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  const TABLE = ['Nom;Adresse;Fonction;Type;Ordre;Echelle;Unité', '"Tension L1";0x0000;4;float;CDAB;1;V', 'Courant;6;FC04;FLOAT32;;0,1;A', 'Cassé;zz;3;u16;;;', ''].join('\n');

  it('writes a profile of the good rows, names the bad ones by line, and never overwrites', async () => {
    const csv = join(dir, 'table.csv');
    writeFileSync(csv, TABLE);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const out = join(dir, 'acme-m1.yaml');
    expect(await profileImportCommand({ csv, out })).toBe(1);
    expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain(`${csv}:4: casse: address "zz"`);
    const profile = parse(readFileSync(out, 'utf8')) as { id: string; points: unknown[] };
    expect(profile.id).toBe('acme-m1');
    expect(profile.points).toEqual([
      { name: 'tension_l1', kind: 'input', address: 0, type: 'f32', order: 'CDAB', unit: 'V' },
      { name: 'courant', kind: 'input', address: 6, type: 'f32', scale: 0.1, unit: 'A' },
    ]);
    await expect(profileImportCommand({ csv, out })).rejects.toThrow(/exists: choose another --out/);
  });

  it('the imported file names what is left to complete, through the real command', async () => {
    const csv = join(dir, 'table.csv');
    writeFileSync(csv, TABLE);
    const out = join(dir, 'acme-m1.yaml');
    const imported = await runCli(['profile', 'import', '--csv', csv, '--out', out], { timeoutMs: 60_000 });
    expect(imported.code).toBe(1); // one row left out
    const checked = await runCli(['profile', 'check', out], { timeoutMs: 60_000 });
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(new RegExp(`${out}:\\d+:\\d+ points\\.0\\.class: `));
  }, 150_000);
});
