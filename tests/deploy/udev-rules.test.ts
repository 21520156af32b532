/**
 * The udev rules (deploy/udev/60-passerelle.rules) run by systemd's own `udevadm test` on fake USB
 * serial adapters (udev-test.sh: a private mount namespace with a fake /sys, nothing touches the
 * machine's devices). `udevadm verify` would need systemd >= 254; bookworm has 252.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const HERE = import.meta.dirname;
const RULES = join(HERE, '..', '..', 'deploy', 'udev', '60-passerelle.rules');

/** udevadm's output per adapter ("== NAME" sections of udev-test.sh). */
function udevTest(rulesFile: string): Record<string, string> {
  const r = spawnSync(join(HERE, 'udev-test.sh'), [rulesFile], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const sections: Record<string, string> = {};
  for (const part of r.stdout.split(/^== /m).slice(1)) {
    const nl = part.indexOf('\n');
    sections[part.slice(0, nl)] = part.slice(nl + 1);
  }
  return sections;
}

/** Lines where udev reports a rule it could not parse: FILE:LINE without a device in front. */
const parseErrors = (out: string, file: string) => out.split('\n').filter((l) => l.startsWith(`/usr/lib/udev/rules.d/${file}:`));
const devlinks = (out: string) => (/^DEVLINKS=(.*)$/m.exec(out)?.[1] ?? '').split(' ').filter(Boolean).sort();

describe('udev rules under udevadm test (systemd 252)', { timeout: 90_000 }, () => {
  it('parse cleanly; an FTDI gets its serial and port names, 1 ms latency; a CH340 its port name only', () => {
    const devBefore = existsSync('/dev/passerelle');
    const out = udevTest(RULES);
    expect(Object.keys(out)).toEqual(['ftdi', 'ch340', '/dev/passerelle']);
    expect(parseErrors(out.ftdi!, '60-passerelle.rules')).toEqual([]);
    expect(out.ftdi).toContain('Reading rules file: /usr/lib/udev/rules.d/60-passerelle.rules');

    expect(devlinks(out.ftdi!)).toEqual([
      '/dev/passerelle/by-port/pci-0000_00_14_0-usb-0_2_1_0',
      '/dev/passerelle/by-serial/0403-6001-A5XK3RJT-if00',
    ]);
    expect(out.ftdi).toMatch(/ATTR '[^']*\/ttyUSB0\/device\/latency_timer' writing '1'/);
    expect(out.ftdi).toMatch(/60-passerelle\.rules:\d+ MODE 0660/);
    expect(out.ftdi).toMatch(/60-passerelle\.rules:\d+ GROUP \d+/);

    // No serial number: only the physical port tells two CH340 apart.
    expect(devlinks(out.ch340!)).toEqual(['/dev/passerelle/by-port/pci-0000_00_14_0-usb-0_3_1_0']);
    expect(out.ch340).not.toContain('latency_timer');

    // udev made the links in the namespace's /dev, not in the machine's.
    expect(out['/dev/passerelle']!.trim().split('\n')).toEqual([
      '/dev/passerelle/by-port/pci-0000_00_14_0-usb-0_2_1_0 -> ../../ttyUSB0',
      '/dev/passerelle/by-port/pci-0000_00_14_0-usb-0_3_1_0 -> ../../ttyUSB1',
      '/dev/passerelle/by-serial/0403-6001-A5XK3RJT-if00 -> ../../ttyUSB0',
    ]);
    expect(existsSync('/dev/passerelle')).toBe(devBefore);
  });

  it('a rule udev cannot parse is reported with its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-udev-'));
    try {
      const bad = join(dir, '61-typo.rules');
      writeFileSync(bad, readFileSync(RULES, 'utf8').replace('SYMLINK+="passerelle/by-port/', 'SYMLNK+="passerelle/by-port/'));
      const out = udevTest(bad);
      expect(parseErrors(out.ftdi!, '61-typo.rules')).toEqual([expect.stringMatching(/^\/usr\/lib\/udev\/rules\.d\/61-typo\.rules:\d+ Invalid key 'SYMLNK'$/)]);
      expect(devlinks(out.ftdi!)).toEqual(['/dev/passerelle/by-serial/0403-6001-A5XK3RJT-if00']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
