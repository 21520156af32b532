/**
 * Issue 13 item 5: input is bounded whatever the file is. stat() says 0 bytes for /dev/urandom, a FIFO
 * or a serial port, so the cap must hold on what is read, not on what stat says.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPtyPair } from '../../src/sim/pty.js';
import { startTicSimulator } from '../../src/sim/tic.js';
import { ROOT, runCli } from './cli.js';

describe('bounded input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-bounded-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('check /dev/urandom says "not a text file" in one line, not megabytes of escaped bytes', async () => {
    const { code, stderr } = await runCli(['check', '/dev/urandom']);
    expect(code).toBe(1);
    expect(stderr).toContain('/dev/urandom:1:1 (file): not a text file');
    expect(stderr.length).toBeLessThan(300);
  }, 60_000);

  it('check on a FIFO fed forever stops at the 1 MiB cap', async () => {
    const fifo = join(dir, 'endless.yaml');
    execFileSync('mkfifo', [fifo]);
    const writer = createWriteStream(fifo);
    writer.on('error', () => undefined); // EPIPE once check has read enough and closed
    const line = Buffer.from('# a comment line, forever\n'.repeat(1000));
    const feed = () => {
      while (!writer.destroyed && writer.write(line));
    };
    writer.on('drain', feed);
    writer.on('open', feed);
    const { code, stderr } = await runCli(['check', fifo]);
    writer.destroy();
    expect(code).toBe(1);
    expect(stderr).toContain('file is over 1048576 bytes');
  }, 60_000);

  it('decode on a live port says so, and Ctrl-C decodes what arrived', async () => {
    const pair = await createPtyPair();
    const sim = await startTicSimulator({ path: pair.b, mode: 'standard', paceBaud: 0, gapMs: 100 });
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'decode', '--protocol', 'tic', pair.a], { cwd: ROOT });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
      while (!stdout && !/live port/.test(stderr) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toContain(`${pair.a} is a live port or pipe, not a saved capture`);
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGINT');
      expect(await closed).toBe(0);
      expect(stderr).toMatch(/Ctrl-C: decoding the \d+ bytes read/);
      expect(stdout).toContain('"label":"EAST"');
    } finally {
      await sim.stop();
      await pair.close();
    }
  }, 60_000);

  it('decode /dev/zero stops at the live bound instead of growing', async () => {
    const { code, stderr } = await runCli(['decode', '--protocol', 'tic', '/dev/zero']);
    expect(code).toBe(0);
    expect(stderr).toContain('stopped after 1048576 bytes');
  }, 60_000);
});
