import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { UplinkConfig } from '../../src/config/schema.js';
import { PasserelleError } from '../../src/core/errors.js';
import { readUplinkSecrets } from '../../src/gateway/uplink-options.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function fileWith(name: string, content: string, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-uplink-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode); // the umask may have narrowed it
  return path;
}

const uplink = (files: Partial<UplinkConfig>) => files as UplinkConfig;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PasserelleError) return e.code;
    throw e;
  }
  throw new Error('nothing thrown');
}

describe('uplink secret files are checked like the store key (13.8)', () => {
  it.each([
    ['passwordFile', 'password'],
    ['keyFile', 'client key'],
  ] as const)('%s readable by group or others is refused, naming the chmod', (field, what) => {
    const path = fileWith('secret', 'hunter2\n', 0o644);
    let message = '';
    try {
      readUplinkSecrets(uplink({ [field]: path }));
    } catch (e) {
      message = (e as Error).message;
      expect((e as PasserelleError).code).toBe('E_UPLINK_PERMS');
    }
    expect(message).toContain(`uplink ${what} file ${path}`);
    expect(message).toContain(`chmod 600 ${path}`);
    expect(message).not.toContain('hunter2');
  });

  it('a password file that is a symbolic link is refused', () => {
    const real = fileWith('real', 'hunter2\n', 0o600);
    const link = join(dirs[0]!, 'link');
    symlinkSync(real, link);
    expect(codeOf(() => readUplinkSecrets(uplink({ passwordFile: link })))).toBe('E_SECRET_LINK');
  });

  it('a private password file (0600 or 0400) is read; a missing one says so', () => {
    expect(readUplinkSecrets(uplink({ passwordFile: fileWith('p', 'hunter2\n', 0o400) })).password).toBe('hunter2');
    expect(codeOf(() => readUplinkSecrets(uplink({ passwordFile: '/nonexistent/passwd' })))).toBe('E_UPLINK_FILE');
  });

  it('certificates are public: a 0644 CA or client certificate is fine', () => {
    const secrets = readUplinkSecrets(uplink({ caFile: fileWith('ca.pem', 'CA', 0o644), certFile: fileWith('c.pem', 'CERT', 0o644) }));
    expect(secrets.ca?.toString()).toBe('CA');
    expect(secrets.cert?.toString()).toBe('CERT');
  });
});
