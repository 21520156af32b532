/** Issue 13 item 3: `check` refuses what `run` refuses, at the same FILE:LINE:COL; budget advice is a warning. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const site = (dir: string, poll: string, bus = '{ id: lan, type: tcp, host: 127.0.0.1, port: 1 }') => `site: { id: s, name: S }
gateway: { id: g }
buses:
  - ${bus}
devices:
  - { id: meter, bus: ${bus.match(/id: (\w+)/)![1]}, unit: 1, profile: eastron-sdm630, poll: ${poll} }
store: { path: ${dir}/s.db, keyFile: ${dir}/s.key }
`;

describe('check and run agree', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-check-run-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('poll: 0s is refused by check and by run, at the poll value, before anything opens', async () => {
    const file = join(dir, 'zero.yaml');
    await writeFile(file, site(dir, '0s'));
    const where = `${file}:6:68 devices[0].poll: a duration must be at least 1ms`;
    const check = await runCli(['check', file]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(where);
    const run = await runCli(['run', '--config', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(where);
    expect(run.stdout).not.toContain('gateway started');
  }, 60_000);

  it('a poll shorter than the line needs for one cycle is a located warning; check still exits 0', async () => {
    const file = join(dir, 'fast.yaml');
    await writeFile(file, site(dir, '100ms', '{ id: rs485, type: serial, port: /dev/null, baud: 1200 }'));
    const check = await runCli(['check', file]);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`${file}: ok (2 warnings)`);
    expect(check.stderr).toMatch(new RegExp(`${file}:6:\\d+ devices\\[0\\]\\.poll: warning: device meter: one cycle needs \\d+ ms of bus time but it polls every 100ms`));
  }, 60_000);
});
