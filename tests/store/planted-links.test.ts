/**
 * The service account owns the store's directory; an admin runs `erase` or `keys rotate` there as root
 * (these tests run as root too). Each attack plants a link or a foreign file in the store's directory
 * and checks that the file it points at, outside the store, is left byte-identical.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readSync, closeSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eraseLocalData } from '../../src/store/erase.js';
import { rotateStoreKey } from '../../src/store/rotate.js';
import { Store } from '../../src/store/store.js';
import { runCli } from '../cli/cli.js';
import { keyFileWith, makeTempDir, removeTempDirs, thrown } from './helpers.js';

afterEach(removeTempDirs);

const isRoot = process.geteuid?.() === 0;
/** A user id that is not ours nor root: the service account in these tests. */
const SERVICE_UID = 4242;

/** A file outside the store that an attacker would like root to overwrite (think /etc/shadow). */
function victim(): { path: string; content: Buffer } {
  const path = join(makeTempDir(), 'shadow');
  const content = randomBytes(4096);
  writeFileSync(path, content, { mode: 0o640 });
  return { path, content };
}

function storeWithData() {
  const dir = makeTempDir();
  const opts = { path: join(dir, 'site.db'), keyFile: join(dir, 'site.key') };
  const store = Store.open(opts);
  store.appendReadings([{ device: 'd', point: 'p', ts: Date.now(), value: 1, quality: 'good' }]);
  store.close();
  return { dir, opts, config: { store: opts } };
}

const untouched = (v: { path: string; content: Buffer }) => expect(readFileSync(v.path).equals(v.content)).toBe(true);

describe('erase never follows a link planted in the store directory', () => {
  it.each(['site.db-journal', 'site.key.next', 'site.key.1234.abcd.tmp', 'site.db-wal'])('a symbolic link named %s', async (name) => {
    const { dir, config } = storeWithData();
    const target = victim();
    symlinkSync(target.path, join(dir, name));

    const report = await eraseLocalData(config, {});

    untouched(target);
    expect(report.refused.map((r) => r.path)).toEqual([join(dir, name)]);
    expect(report.refused[0]!.reason).toMatch(/symbolic link/);
    // Everything else was wiped: the key first.
    expect(report.erased.map((f) => f.path)).toEqual(expect.arrayContaining([config.store.keyFile, config.store.path]));
    expect(existsSync(config.store.keyFile)).toBe(false);
  });

  it('a hard link to a file outside the store', async () => {
    const { dir, config } = storeWithData();
    const target = victim();
    linkSync(target.path, join(dir, 'site.db-journal'));

    const report = await eraseLocalData(config, {});

    untouched(target);
    expect(report.refused.map((r) => r.reason)).toEqual([expect.stringMatching(/2 hard links/)]);
  });

  it.runIf(isRoot)('a file of another user in a directory it does not own', async () => {
    const { dir, config } = storeWithData();
    const foreign = join(dir, 'site.db-journal');
    writeFileSync(foreign, 'not ours');
    chownSync(foreign, SERVICE_UID, SERVICE_UID);
    const report = await eraseLocalData(config, {});
    expect(readFileSync(foreign, 'utf8')).toBe('not ours');
    expect(report.refused.map((r) => r.reason)).toEqual([expect.stringMatching(/belongs to user id 4242/)]);
  });

  it('a store directory reached through a symbolic link', async () => {
    const { dir, config } = storeWithData();
    const link = join(makeTempDir(), 'state');
    symlinkSync(dir, link);
    const report = await eraseLocalData({ store: { path: join(link, 'site.db'), keyFile: join(link, 'site.key') } }, {});
    expect(report.erased).toEqual([]);
    expect(report.refused[0]!.reason).toMatch(/symbolic link/);
    expect(existsSync(config.store.keyFile)).toBe(true);
  });
});

describe('passerelle erase --yes with a planted link', () => {
  it('wipes the rest, names the file it left alone, exits 1; the target is untouched', async () => {
    const { dir, config } = storeWithData();
    const target = victim();
    symlinkSync(target.path, join(dir, 'site.db-journal'));
    const site = join(makeTempDir(), 'site.yaml');
    writeFileSync(site, `site: { id: s1, name: Site }\ngateway: { id: g1 }\nstore: { path: ${config.store.path}, keyFile: ${config.store.keyFile} }\n`);

    const result = await runCli(['erase', '--config', site, '--yes']);

    untouched(target);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`erased ${config.store.keyFile}`);
    expect(result.stderr).toContain(`not erased: store file ${join(dir, 'site.db-journal')} is a symbolic link`);
    expect(existsSync(config.store.path)).toBe(false);
  }, 90_000);
});

describe('keys rotate never follows a link planted in the store directory', () => {
  it('a symbolic link as <key>.next: refused, the target untouched, the store still opens', () => {
    const { dir, opts } = storeWithData();
    const target = victim();
    symlinkSync(target.path, join(dir, 'site.key.next'));
    expect(thrown(() => rotateStoreKey(opts)).code).toBe('E_WIPE_LINK');
    untouched(target);
  });

  it('a symbolic link as the rollback journal: refused before SQLite opens anything', () => {
    const { dir, opts } = storeWithData();
    const target = victim();
    symlinkSync(target.path, join(dir, 'site.db-journal'));
    keyFileWith(dir, 'site.key.next'); // an "interrupted rotation" makes unlock look at the journal
    expect(thrown(() => rotateStoreKey(opts)).code).toBe('E_STORE_LINK');
    untouched(target);
  });

  it('a key file that is a symbolic link is refused (the store would follow it)', () => {
    const { dir, opts } = storeWithData();
    const elsewhere = join(makeTempDir(), 'k');
    writeFileSync(elsewhere, readFileSync(opts.keyFile), { mode: 0o600 });
    const link = join(dir, 'linked.key');
    symlinkSync(elsewhere, link);
    expect(thrown(() => Store.open({ ...opts, keyFile: link })).code).toBe('E_KEY_LINK');
  });

  it('the old key is overwritten, not just renamed away', () => {
    const { opts } = storeWithData();
    const oldHex = readFileSync(opts.keyFile, 'latin1').trim();
    // An open descriptor keeps the old key's inode readable after the rename.
    const fd = openSync(opts.keyFile, 'r');
    try {
      rotateStoreKey(opts);
      const after = Buffer.alloc(65);
      readSync(fd, after, 0, 65, 0);
      expect(after.toString('latin1')).not.toContain(oldHex.slice(0, 16));
    } finally {
      closeSync(fd);
    }
  });

  it.runIf(isRoot)('run as root on a store of the service account: the new key stays the service account\'s', () => {
    const dir = join(makeTempDir(), 'state');
    mkdirSync(dir, { mode: 0o700 });
    const opts = { path: join(dir, 'site.db'), keyFile: join(dir, 'site.key') };
    Store.open(opts).close();
    for (const f of [dir, opts.path, opts.keyFile]) chownSync(f, SERVICE_UID, SERVICE_UID);

    rotateStoreKey(opts);

    for (const f of [opts.keyFile, opts.path]) expect([statSync(f).uid, statSync(f).gid]).toEqual([SERVICE_UID, SERVICE_UID]);
    Store.open(opts).close();
  });
});

describe('secret files the store reads are checked like the key', () => {
  it.runIf(isRoot)('a key file owned by another user than the store\'s is refused', () => {
    const { opts } = storeWithData();
    chownSync(opts.keyFile, SERVICE_UID, SERVICE_UID);
    expect(thrown(() => Store.open(opts)).code).toBe('E_KEY_OWNER');
  });

  it.runIf(isRoot)('a database owned by another user than the store\'s is refused', () => {
    const { opts } = storeWithData();
    chownSync(opts.path, SERVICE_UID, SERVICE_UID);
    expect(thrown(() => Store.open(opts)).code).toBe('E_STORE_OWNER');
  });

  it('a database that is a symbolic link is refused', () => {
    const { dir, opts } = storeWithData();
    const link = join(dir, 'linked.db');
    symlinkSync(opts.path, link);
    expect(thrown(() => Store.open({ ...opts, path: link })).code).toBe('E_STORE_LINK');
  });

  it('a database readable by others is made private, not refused (it holds only encrypted pages)', () => {
    const { opts } = storeWithData();
    writeFileSync(opts.path, readFileSync(opts.path), { mode: 0o644 });
    Store.open(opts).close();
    expect(statSync(opts.path).mode & 0o777).toBe(0o600);
  });

  it('a store in a directory writable by others is refused', () => {
    const dir = makeTempDir();
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777); // mkdir applies the umask

    expect(thrown(() => Store.open({ path: join(shared, 'site.db'), keyFile: join(dir, 'site.key') })).code).toBe('E_STORE_PATH');
  });
});
