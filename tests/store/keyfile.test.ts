import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_BYTES, loadOrCreateKey } from '../../src/store/keyfile.js';
import { makeTempDir, removeTempDirs, thrown } from './helpers.js';

afterEach(removeTempDirs);

describe('loadOrCreateKey', () => {
  it('creates a private directory and a 0600 file holding 64 hex characters and a newline', () => {
    const dir = join(makeTempDir(), 'secrets', 'nested');
    const path = join(dir, 'store.key');

    const key = loadOrCreateKey(path);

    expect(key).toHaveLength(KEY_BYTES);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const content = readFileSync(path, 'latin1');
    expect(content).toMatch(/^[0-9a-f]{64}\n$/);
    expect(Buffer.from(content.trim(), 'hex').equals(key)).toBe(true);
    expect(readdirSync(dir)).toEqual(['store.key']); // no temp file left behind
  });

  it('returns the same key on the next start', () => {
    const path = join(makeTempDir(), 'store.key');
    const first = Buffer.from(loadOrCreateKey(path));
    expect(loadOrCreateKey(path).equals(first)).toBe(true);
  });

  it('makes a different random key for each new file', () => {
    const dir = makeTempDir();
    expect(loadOrCreateKey(join(dir, 'a.key')).equals(loadOrCreateKey(join(dir, 'b.key')))).toBe(false);
  });

  it('refuses a key readable by group or others, naming the exact chmod fix', () => {
    const path = join(makeTempDir(), 'store.key');
    const keyHex = Buffer.from(loadOrCreateKey(path)).toString('hex');
    chmodSync(path, 0o644);

    const error = thrown(() => loadOrCreateKey(path));

    expect(error.code).toBe('E_KEY_PERMS');
    expect(error.message).toContain(`chmod 600 ${path}`);
    expect(error.message).toContain('0644');
    expect(error.message).not.toContain(keyHex);
  });

  it.each([0o640, 0o604, 0o601, 0o610])('refuses mode %s (any group/other bit)', (mode) => {
    const path = join(makeTempDir(), 'store.key');
    loadOrCreateKey(path);
    chmodSync(path, mode);
    expect(thrown(() => loadOrCreateKey(path)).code).toBe('E_KEY_PERMS');
  });

  it('accepts a 0400 key file (owner read-only)', () => {
    const path = join(makeTempDir(), 'store.key');
    const key = Buffer.from(loadOrCreateKey(path));
    chmodSync(path, 0o400);
    expect(loadOrCreateKey(path).equals(key)).toBe(true);
  });

  it.each([
    ['too short', 'ab'.repeat(31) + '\n'],
    ['too long', 'ab'.repeat(33) + '\n'],
    ['not hex', 'zz'.repeat(32) + '\n'],
    ['two lines', 'ab'.repeat(32) + '\n\n'],
    ['empty', ''],
    ['a passphrase', 'correct horse battery staple\n'],
  ])('refuses malformed content (%s) without echoing it', (_label, content) => {
    const path = join(makeTempDir(), 'store.key');
    writeFileSync(path, content, { mode: 0o600 });

    const error = thrown(() => loadOrCreateKey(path));

    expect(error.code).toBe('E_KEY_FORMAT');
    expect(error.message).toContain(path);
    if (content.trim().length > 0) expect(error.message).not.toContain(content.trim());
  });

  it('accepts a key written without the trailing newline (echo -n)', () => {
    const path = join(makeTempDir(), 'store.key');
    const hex = 'c0'.repeat(32);
    writeFileSync(path, hex, { mode: 0o600 });
    expect(loadOrCreateKey(path).toString('hex')).toBe(hex);
  });

  it('refuses a directory where the key file should be', () => {
    const path = join(makeTempDir(), 'store.key');
    mkdirSync(path, { mode: 0o700 });
    expect(thrown(() => loadOrCreateKey(path)).code).toBe('E_KEY_FORMAT');
  });

  it('reports a key directory it cannot create as E_KEY_IO', () => {
    const parent = makeTempDir();
    writeFileSync(join(parent, 'file'), 'x');
    // A regular file stands where the directory should be: mkdir fails with ENOTDIR/EEXIST.
    expect(thrown(() => loadOrCreateKey(join(parent, 'file', 'store.key'))).code).toBe('E_KEY_IO');
  });
});
