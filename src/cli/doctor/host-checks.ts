/** The host: clock, the store's disk and file, and the modes and owners of the files that hold secrets. */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../../config/index.js';
import { errorMessage } from '../../core/errors.js';
import { packageRoot } from '../../profiles/index.js';
import { fail, guarded, pass, warn, type Finding } from './verdict.js';

const run = promisify(execFile);
const MB = 1024 * 1024;
/** Below this the store soon refuses writes and keeps them in memory (bounded) instead. */
const FREE_FAIL_BYTES = 50 * MB;
/** A WAL past this was not checkpointed for long: something holds a read transaction open. */
const WAL_WARN_BYTES = 64 * MB;

export async function clockFindings(now: Date = new Date()): Promise<Finding[]> {
  const findings: Finding[] = [];
  const built = statSync(join(packageRoot(), 'package.json')).mtime;
  findings.push(
    now < built
      ? fail('clock.after-build', `the clock says ${now.toISOString()}, before this release was built (${built.toISOString()})`, 'set the time (timedatectl set-time, or give the gateway an NTP server): windows would carry wrong dates')
      : pass('clock.after-build', `${now.toISOString()}, after the build date ${built.toISOString().slice(0, 10)}`),
  );
  findings.push(await clockSync());
  return findings;
}

async function clockSync(): Promise<Finding> {
  try {
    const { stdout } = await run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { timeout: 3000 });
    if (stdout.trim() === 'yes') return pass('clock.sync', 'synchronised (timedatectl)');
    return warn('clock.sync', 'not synchronised (timedatectl NTPSynchronized=no)', 'give the gateway an NTP server it can reach (/etc/systemd/timesyncd.conf), or check its network');
  } catch {
    if (existsSync('/run/systemd/timesync/synchronized')) return pass('clock.sync', 'synchronised (systemd-timesyncd)');
    return warn('clock.sync', 'cannot tell whether the clock is synchronised (no timedatectl answer)', 'check the NTP client of this system (timedatectl status)');
  }
}

export async function storeFindings(config: Config): Promise<Finding[]> {
  const { path, keyFile, cipher, maxBytes } = config.store;
  return [
    ...(await guarded('store.free-space', () => freeSpace(path, maxBytes), `check that ${dirname(path)} exists and is readable`)),
    ...walSize(path),
    ...(await guarded('store.key-file', () => keyFileFinding(path, keyFile), `chmod 600 ${keyFile} and chown it to the gateway's user`)),
    ...(await guarded('store.quick-check', () => quickCheck(path, keyFile, cipher), 'stop the gateway, keep a copy of the store file, and see docs/store.md (recovery)')),
  ];
}

async function freeSpace(path: string, maxBytes: number): Promise<Finding[]> {
  let dir = dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  const used = existsSync(path) ? statSync(path).size : 0;
  const text = `${Math.round(free / MB)} MB free on ${dir}`;
  if (free < FREE_FAIL_BYTES) return [fail('store.free-space', text, `free space on ${dir}: the store keeps new writes in memory only while the disk is full`)];
  if (free < maxBytes - used) return [warn('store.free-space', `${text}, less than the store may still grow (store.maxBytes ${Math.round(maxBytes / MB)} MB)`, `free space on ${dir} or lower store.maxBytes`)];
  return [pass('store.free-space', text)];
}

function walSize(path: string): Finding[] {
  const wal = `${path}-wal`;
  if (!existsSync(wal)) return [pass('store.wal', 'no WAL file (store closed cleanly, or not created yet)')];
  const size = statSync(wal).size;
  if (size > WAL_WARN_BYTES) return [warn('store.wal', `WAL is ${Math.round(size / MB)} MB`, 'restart the gateway: a long-open reader keeps the WAL from being checkpointed')];
  return [pass('store.wal', `WAL is ${Math.round(size / 1024)} kB`)];
}

async function keyFileFinding(storePath: string, keyFile: string): Promise<Finding[]> {
  const { readExistingKey } = await import('../../store/keyfile.js');
  if (!existsSync(keyFile)) {
    return existsSync(storePath)
      ? [fail('store.key-file', `key file ${keyFile} is missing but the store ${storePath} exists: its data cannot be read`, 'restore the key file from its backup; without it, erase the store (passerelle erase)')]
      : [pass('store.key-file', `key file ${keyFile} will be created on first start (mode 0600)`)];
  }
  try {
    readExistingKey(keyFile).fill(0);
    return [pass('store.key-file', `${keyFile}: private, the gateway's, a 256-bit key`)];
  } catch (e) {
    return [fail('store.key-file', errorMessage(e), `chmod 600 ${keyFile}; chown it to the gateway's user; no symbolic link`)];
  }
}

async function quickCheck(path: string, keyFile: string, cipher: 'chacha20' | 'sqlcipher'): Promise<Finding[]> {
  if (!existsSync(path) || !existsSync(keyFile)) return [pass('store.quick-check', 'no store yet (created on first start)')];
  const { readExistingKey } = await import('../../store/keyfile.js');
  const { openForReading } = await import('../../store/live-read.js');
  const key = readExistingKey(keyFile);
  try {
    const reader = openForReading(path, cipher, key);
    try {
      const rows = reader.db.pragma('quick_check(5)') as { quick_check: string }[];
      const result = rows.map((r) => r.quick_check);
      const what = reader.snapshot ? `${path} (a snapshot: the gateway is running)` : path;
      if (result.length === 1 && result[0] === 'ok') return [pass('store.quick-check', `${what}: quick_check ok`)];
      return [fail('store.quick-check', `${what}: ${result.join('; ')}`, 'stop the gateway, keep a copy of the store file, and see docs/store.md (recovery)')];
    } finally {
      reader.close();
    }
  } finally {
    key.fill(0);
  }
}

/** The config and the uplink's secrets: who may change what the gateway does, and who may read its password. */
export async function fileFindings(configFile: string, config: Config): Promise<Finding[]> {
  const findings: Finding[] = [configModeFinding(configFile)];
  const { uplink } = config;
  if (uplink.passwordFile || uplink.keyFile || uplink.caFile || uplink.certFile || uplink.usernameFile) {
    findings.push(
      ...(await guarded(
        'uplink.files',
        async () => {
          const { readUplinkSecrets } = await import('../../gateway/uplink-options.js');
          const secrets = readUplinkSecrets(uplink);
          secrets.key?.fill(0);
          return [pass('uplink.files', 'uplink credential files readable, the private ones private')];
        },
        'chmod 600 the password and client key files, chown them to the gateway user',
      )),
    );
  }
  return findings;
}

function configModeFinding(file: string): Finding {
  const s = statSync(file);
  const mode = (s.mode & 0o777).toString(8).padStart(4, '0');
  if (s.mode & 0o022) return warn('config.mode', `${file} is writable by other users (mode ${mode}): they could change what leaves the building`, `chmod 644 ${file} (or 640), owned by root`);
  const me = process.geteuid?.() ?? 0;
  if (s.uid !== 0 && s.uid !== me) return warn('config.owner', `${file} belongs to user id ${s.uid}, neither root nor the gateway's user`, `chown root ${file}`);
  return pass('config.mode', `${file}: mode ${mode}, owner ${s.uid === 0 ? 'root' : `uid ${s.uid}`}`);
}
