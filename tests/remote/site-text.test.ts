/**
 * A pushed or applied site is checked as `passerelle check` checks a file: M-Bus meters and site-local
 * profiles included. The remote path knew the shipped Modbus profiles only, so it refused both.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue } from '../../src/config/index.js';
import { checkSiteText } from '../../src/gateway/load-site.js';
import { edit, VALID_SITE } from '../config/helpers.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

const errorsOf = (r: ReturnType<typeof checkSiteText>) => (r.ok ? [] : r.errors.map(formatIssue));

describe('the remote path checks a site as check does', () => {
  it('accepts an M-Bus meter on its own profile library', () => {
    const text = VALID_SITE.replace('buses:\n', 'buses:\n  - { id: mbus, type: serial, port: /dev/ttyUSB0, baud: 2400, parity: even }\n')
      .replace('devices:\n', 'devices:\n  - { id: heat, bus: mbus, protocol: mbus, profile: kamstrup-multical-601, poll: 15m, mbus: { address: 5 }, points: [energy] }\n');
    expect(errorsOf(checkSiteText(text, '/var/lib/passerelle/cfg/a/site.yaml'))).toEqual([]);
  });

  it('accepts a profile of an absolute profiles: folder, and names a folder it cannot read', () => {
    const root = mkdtempSync(join(tmpdir(), 'passerelle-remote-profiles-'));
    roots.push(root);
    mkdirSync(join(root, 'profiles'));
    copyFileSync(join(import.meta.dirname, '..', 'fixtures', 'profiles', 'leak-probe.yaml'), join(root, 'profiles', 'leak-probe.yaml'));
    const text = (dir: string) => `${edit(VALID_SITE, 'profile: soil-dfrobot', 'profile: leak-probe')}profiles:\n  - ${dir}\n`;
    const slotFile = '/var/lib/passerelle/cfg/b/site.yaml';
    expect(errorsOf(checkSiteText(text(join(root, 'profiles')), slotFile))).toEqual([]);
    const missing = errorsOf(checkSiteText(text(join(root, 'nowhere')), slotFile));
    expect(missing.join('\n')).toContain('nowhere');
  });
});
