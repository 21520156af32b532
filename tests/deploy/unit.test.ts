/**
 * The shipped systemd units: `systemd-analyze verify` with nothing on stderr, an offline exposure score
 * of at most 2.0, and the directives the gateway depends on (serial access, memory, key, notify); for
 * passerelle-nodered.service, what keeps flows away from the gateway (its own user, no device, its own
 * memory) and the paths `passerelle nodered prepare` writes.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { noderedSchema, SYSTEMD_NODERED } from '../../src/config/schema.js';
import { noderedPaths } from '../../src/nodered/paths.js';
import { unitEnvFile } from '../../src/nodered/unit-prepare.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const UNIT = readFileSync(join(ROOT, 'deploy', 'passerelle.service'), 'utf8');
const NODERED_UNIT = readFileSync(join(ROOT, 'deploy', 'passerelle-nodered.service'), 'utf8');
const hasAnalyze = existsSync('/usr/bin/systemd-analyze');
// CI installs systemd (.ci/run): there a missing systemd-analyze fails instead of skipping.
const analyze = hasAnalyze || process.env.CI ? describe : describe.skip;

const directives = (name: string, unit = UNIT): string[] =>
  unit
    .split('\n')
    .filter((l) => l.startsWith(`${name}=`))
    .map((l) => l.slice(name.length + 1));

/** MiB from a systemd size (256M) or V8's --max-old-space-size (in MiB). */
const mib = (size: string): number => {
  const m = /^(\d+)([KMG]?)$/.exec(size);
  if (!m) throw new Error(`not a size: ${size}`);
  return Number(m[1]) * ({ K: 1 / 1024, M: 1, G: 1024, '': 1 / 1024 / 1024 }[m[2] as 'K' | 'M' | 'G' | ''] ?? 1);
};

analyze('systemd-analyze on deploy/passerelle.service and deploy/passerelle-nodered.service', () => {
  it('verify: no error, no warning, for both units side by side', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-unit-'));
    try {
      // verify checks that the commands exist: this machine's node and a stand-in for /usr/bin/passerelle.
      const local = (text: string) => text.replaceAll('/opt/passerelle/node/bin/node', process.execPath).replaceAll('/usr/bin/passerelle', '/bin/true');
      await writeFile(join(dir, 'passerelle.service'), local(UNIT));
      await writeFile(join(dir, 'passerelle-nodered.service'), local(NODERED_UNIT));
      for (const unit of ['passerelle.service', 'passerelle-nodered.service']) {
        const { stderr } = await run('systemd-analyze', ['verify', join(dir, unit)]);
        expect(stderr, unit).toBe('');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('security --offline: exposure at most 2.0, each', async () => {
    for (const unit of ['passerelle.service', 'passerelle-nodered.service']) {
      const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--threshold=20', '--no-pager', join(ROOT, 'deploy', unit)]);
      const score = Number(new RegExp(`Overall exposure level for ${unit.replace('.', '\\.')}: ([\\d.]+)`).exec(stdout)?.[1]);
      expect(score, unit).toBeLessThanOrEqual(2.0);
    }
  });
});

describe('what the gateway depends on in its unit', () => {
  it('notify with a watchdog, systemd-notify allowed to speak for the main process', () => {
    expect(directives('Type')).toEqual(['notify']);
    expect(directives('NotifyAccess')).toEqual(['all']);
    expect(directives('WatchdogSec')).toHaveLength(1);
  });

  it('serial ports through DeviceAllow and dialout, not PrivateDevices', () => {
    expect(directives('PrivateDevices')).toEqual(['no']);
    expect(directives('DevicePolicy')).toEqual(['closed']);
    expect(directives('DeviceAllow')).toEqual(expect.arrayContaining(['char-ttyUSB rw', 'char-ttyACM rw', 'char-ttyAMA rw']));
    expect(directives('SupplementaryGroups')).toEqual(['dialout']);
  });

  it('V8 heap sized under the cgroup limits, and JIT memory allowed', () => {
    const heap = Number(/--max-old-space-size=(\d+)/.exec(directives('ExecStart')[0] ?? '')?.[1]);
    expect(heap).toBeGreaterThan(0);
    expect(heap + 64).toBeLessThanOrEqual(mib(directives('MemoryHigh')[0]!));
    expect(mib(directives('MemoryHigh')[0]!)).toBeLessThan(mib(directives('MemoryMax')[0]!));
    expect(directives('MemoryDenyWriteExecute')).toEqual(['no']);
  });

  it('one V8 background thread: the three others each kept a malloc arena (about 4 MB of RSS) for no CPU saved', () => {
    expect(directives('ExecStart')[0]!.split(' ')).toContain('--v8-pool-size=1');
  });

  it('optimising compilers on the main thread: in the background one they left its malloc arena fragmented (docs/memory.md)', () => {
    expect(directives('ExecStart')[0]!.split(' ')).toContain('--no-concurrent-recompilation');
  });

  it("every Node option of ExecStart is one this Node accepts (a bad one stops the gateway at its start)", () => {
    const args = directives('ExecStart')[0]!.split(' ');
    const options = args.slice(1, args.findIndex((a) => a.endsWith('/main.js')));
    expect(options.length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [...options, '-e', '0'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('store key from an encrypted credential, config read-only, never waits for NTP', () => {
    expect(directives('LoadCredentialEncrypted')).toEqual(['passerelle-store-key:/etc/credstore.encrypted/passerelle-store-key']);
    expect(directives('ProtectSystem')).toEqual(['strict']);
    expect(directives('ReadOnlyPaths')).toEqual(['/etc/passerelle']);
    expect(directives('After').join(' ')).toMatch(/time-sync\.target/);
    expect(directives('Wants').join(' ')).not.toMatch(/time-sync|time-wait-sync/);
  });
});

describe('what keeps flows away from the gateway in passerelle-nodered.service', () => {
  const d = (name: string) => directives(name, NODERED_UNIT);

  it('its own user, not in dialout, no device at all, no capability', () => {
    expect(d('User')).toEqual([SYSTEMD_NODERED.runAs]);
    expect(d('Group')).toEqual([SYSTEMD_NODERED.runAs]);
    expect(d('SupplementaryGroups')).toEqual([]);
    expect(d('PrivateDevices')).toEqual(['yes']);
    expect(d('DevicePolicy')).toEqual(['closed']);
    expect(d('DeviceAllow')).toEqual([]);
    expect(d('CapabilityBoundingSet')).toEqual(['']);
    expect(d('NoNewPrivileges')).toEqual(['yes']);
    const sysusers = readFileSync(join(ROOT, 'deploy', 'package', 'sysusers.conf'), 'utf8');
    expect(sysusers).toMatch(new RegExp(`^u ${SYSTEMD_NODERED.runAs} `, 'm'));
    expect(sysusers).not.toMatch(new RegExp(`^m ${SYSTEMD_NODERED.runAs} dialout`, 'm'));
    // The gateway is in the flows group, to hand its bridge socket to that group.
    expect(sysusers).toMatch(new RegExp(`^m passerelle ${SYSTEMD_NODERED.runAs}$`, 'm'));
  });

  it('writes only its user/ folder; the gateway\'s state, config and credentials are hidden', () => {
    const paths = noderedPaths(SYSTEMD_NODERED);
    expect(d('ProtectSystem')).toEqual(['strict']);
    expect(d('ReadWritePaths')).toEqual([paths.userDir]);
    expect(d('InaccessiblePaths').join(' ').split(' ')).toEqual(expect.arrayContaining(['-/var/lib/passerelle', '-/etc/passerelle', '-/etc/credstore.encrypted']));
    expect(d('StateDirectory')).toEqual([]); // it would hand the settings' directory to the flows user
  });

  it('its own memory, sized for the default heap; follows the gateway; a crash-loop guard', () => {
    const heap = noderedSchema.parse({}).maxOldSpaceMB;
    expect(SYSTEMD_NODERED.unitHeapMB).toBe(heap); // check warns above it
    expect(d('Environment')).toContain(`NODERED_HEAP_MB=${heap}`);
    // 352M/384M for 256: what check's warning asks for a larger heap (heap + 96, + 32).
    expect([mib(d('MemoryHigh')[0]!), mib(d('MemoryMax')[0]!)]).toEqual([heap + 96, heap + 128]);
    expect(heap + 64).toBeLessThanOrEqual(mib(d('MemoryHigh')[0]!));
    expect(mib(d('MemoryHigh')[0]!)).toBeLessThan(mib(d('MemoryMax')[0]!));
    expect(d('PartOf')).toEqual(['passerelle.service']);
    expect(d('After')).toEqual(['passerelle.service']);
    expect(d('WantedBy')).toEqual(['passerelle.service']);
    expect(d('Restart')).toEqual(['on-failure']);
    expect(Number(d('StartLimitBurst')[0])).toBeGreaterThan(1);
    expect(d('StartLimitIntervalSec')).toHaveLength(1);
  });

  it('starts red.js with the settings and userDir the root step writes, and that step is root\'s', () => {
    const paths = noderedPaths(SYSTEMD_NODERED);
    expect(d('ExecCondition')).toEqual(['+/usr/bin/passerelle nodered prepare --config /etc/passerelle/site.yaml']);
    expect(d('EnvironmentFile')).toEqual([`-${unitEnvFile(paths.dir)}`]);
    expect(d('ExecStart')[0]!.split(' ')).toEqual([
      '/opt/passerelle/node/bin/node',
      '--max-old-space-size=${NODERED_HEAP_MB}',
      '/opt/passerelle/app/node_modules/node-red/red.js',
      '--settings',
      paths.settingsFile,
      '--userDir',
      paths.userDir,
    ]);
  });

  it('the gateway\'s runtime directory holds the bridge socket, and the flows user may traverse it', () => {
    expect(`/run/${directives('RuntimeDirectory')[0]}`).toBe(SYSTEMD_NODERED.socketDir);
    expect(Number.parseInt(directives('RuntimeDirectoryMode')[0]!, 8) & 0o001).toBe(0o001);
  });
});
