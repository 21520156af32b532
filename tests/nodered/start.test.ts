/** What startNodeRed refuses before any child is started: no password, a missing or root flows user, an unreachable dir. */
import { chmodSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.js';
import { startNodeRed } from '../../src/nodered/start.js';
import { noderedConfig, setPassword } from './helpers.js';

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'nr-start-'))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('startNodeRed refuses', () => {
  it('to start any editor while no password is set, and says how to set one', () => {
    const handle = startNodeRed(noderedConfig(dir, 1880), { logger: silentLogger() });
    expect(handle.state().status).toBe('no-password');
    expect(handle.state().pid).toBeUndefined();
    expect(handle.state().reason).toMatch(/passerelle nodered passwd/);
  });

  it.runIf(process.geteuid?.() === 0)('to run flows as root, or as a user that does not exist', () => {
    for (const [runAs, why] of [['root', /never runs with root rights/], ['no-such-flows-user', /does not exist/]] as const) {
      const config = noderedConfig(dir, 1880, { runAs });
      setPassword(config);
      const handle = startNodeRed(config, { logger: silentLogger() });
      expect(handle.state().status).toBe('refused');
      expect(handle.state().reason).toMatch(why);
    }
  });

  it.runIf(process.geteuid?.() === 0)('a state directory the flows user cannot reach', () => {
    const closed = join(dir, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    const config = noderedConfig(dir, 1880, { dir: join(closed, 'nodered') });
    setPassword(config);
    const handle = startNodeRed(config, { logger: silentLogger() });
    expect(handle.state()).toMatchObject({ status: 'refused' });
    expect(handle.state().reason).toMatch(/cannot enter .*closed \(mode 0700\)/);
  });
});
