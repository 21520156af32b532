import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PasserelleError } from '../../src/core/errors.js';
import { loadProfiles } from '../../src/profiles/index.js';
import { startModbusTcpSimulator, type ModbusTcpSimulator } from '../../src/sim/modbus-tcp.js';
import { acquireInstanceLock, lockPathFor, withInstanceLock } from '../../src/store/instance-lock.js';
import { ROOT, runCli } from '../cli/cli.js';
import { makeTempDir, removeTempDirs } from './helpers.js';

afterEach(removeTempDirs);

const thrown = (f: () => unknown): PasserelleError => {
  try {
    f();
  } catch (e) {
    if (e instanceof PasserelleError) return e;
    throw e;
  }
  throw new Error('did not throw');
};

describe('the instance lock (in one process)', () => {
  it('refuses a second holder with E_STORE_IN_USE, naming the first; free again once released', () => {
    const store = join(makeTempDir(), 'data', 'store.db');
    const first = acquireInstanceLock(store, 'gateway');
    const error = thrown(() => acquireInstanceLock(store, 'erase'));
    expect(error.code).toBe('E_STORE_IN_USE');
    // Same process here, so the holder is reported as "starting"; across processes the pid is named (below).
    expect(error.message).toContain(store);
    first.release();
    first.release(); // twice is harmless
    withInstanceLock(store, 'erase', () => expect(thrown(() => acquireInstanceLock(store, 'gateway')).code).toBe('E_STORE_IN_USE'));
    acquireInstanceLock(store, 'gateway').release();
    expect(statSync(lockPathFor(store)).mode & 0o777).toBe(0o600);
  });

  it('releases when the body throws or its promise rejects; removeFile deletes the file', async () => {
    const store = join(makeTempDir(), 'store.db');
    expect(() => withInstanceLock(store, 'erase', () => { throw new Error('boom'); })).toThrow('boom');
    await expect(withInstanceLock(store, 'erase', async () => Promise.reject(new Error('later')))).rejects.toThrow('later');
    withInstanceLock(store, 'erase', (lock) => lock.release({ removeFile: true }));
    expect(existsSync(lockPathFor(store))).toBe(false);
  });

  it('never follows a symbolic link at the lock path', () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'elsewhere'), 'x');
    symlinkSync(join(dir, 'elsewhere'), lockPathFor(join(dir, 'store.db')));
    expect(thrown(() => acquireInstanceLock(join(dir, 'store.db'), 'gateway')).code).toBe('E_STORE_LOCK');
    expect(readFileSync(join(dir, 'elsewhere'), 'utf8')).toBe('x');
  });
});

/** `passerelle run` as the service runs it: node itself (no wrapper), so that kill -9 hits the gateway. */
function startRun(configFile: string): { child: ChildProcess; started: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', configFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('gateway started')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', (code) => reject(new Error(`run exited (${code}) before starting: ${out}`)));
  });
  return { child, started };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('close', () => r()));
}

describe('one gateway per store (real processes)', () => {
  let sim: ModbusTcpSimulator | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) {
      c.kill('SIGKILL');
      await exited(c);
    }
    await sim?.close();
  });

  it('a second run, erase and keys rotate refuse at once naming the running gateway; after kill -9 a restart is not blocked', async () => {
    const dir = makeTempDir();
    sim = await startModbusTcpSimulator({ host: '127.0.0.1', port: 0, devices: [{ unit: 1, profile: loadProfiles().get('eastron-sdm630')! }] });
    const configFile = join(dir, 'site.json');
    const store = { path: join(dir, 'data', 'store.db'), keyFile: join(dir, 'keys', 'store.key') };
    writeFileSync(
      configFile,
      JSON.stringify({
        site: { id: 'lock', name: 'Lock test', timezone: 'Europe/Paris', clock: { trust: 'always' } },
        gateway: { id: 'gw' },
        buses: [{ id: 'plant', type: 'tcp', host: '127.0.0.1', port: sim.port, timeout: '500ms' }],
        devices: [{ id: 'meter', bus: 'plant', unit: 1, profile: 'eastron-sdm630', poll: '200ms', points: ['power_total'] }],
        aggregation: { window: '1m' },
        store,
        policy: { allow: [{ match: 'meter.*', statistics: ['mean'] }] },
      }),
    );
    const first = startRun(configFile);
    children.push(first.child);
    await first.started;
    const keyBefore = readFileSync(store.keyFile);

    const commands = [['run', '--config', configFile], ['erase', '--config', configFile, '--yes'], ['keys', 'rotate', '--config', configFile]];
    const results = await Promise.all(commands.map((args) => runCli(args)));
    for (const [i, refused] of results.entries()) {
      expect(refused.code, `${commands[i]![0]}: ${refused.stderr}`).toBe(2);
      expect(refused.stderr).toContain('E_STORE_IN_USE');
      expect(refused.stderr).toMatch(new RegExp(`in use by a running gateway \\(pid ${first.child.pid} on .+, started \\d{4}-`));
    }
    // Nothing was touched: the key is the same, the store still there, the gateway still running.
    expect(readFileSync(store.keyFile)).toEqual(keyBefore);
    expect(existsSync(store.path)).toBe(true);
    expect(first.child.exitCode).toBeNull();

    first.child.kill('SIGKILL');
    await exited(first.child);
    expect(existsSync(lockPathFor(store.path))).toBe(true); // the stale file is still there...
    const second = startRun(configFile); // ...and does not block the restart
    children.push(second.child);
    await second.started;
    second.child.kill('SIGTERM');
    await exited(second.child);
    expect(second.child.exitCode).toBe(0);

    const erased = await runCli(['erase', '--config', configFile, '--yes']);
    expect(erased.code, erased.stderr).toBe(0);
    expect(existsSync(store.path)).toBe(false);
    expect(existsSync(lockPathFor(store.path))).toBe(false);
  }, 120_000);
});
