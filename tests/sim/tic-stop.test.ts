/**
 * Issue 13 item 6: a TIC simulator whose pty nobody reads (the buffers fill, a write never completes)
 * still stops on Ctrl-C, closing socat and removing its folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPtyPair } from '../../src/sim/pty.js';
import { startTicSimulator } from '../../src/sim/tic.js';
import { ROOT } from '../cli/cli.js';
import { loadConfigText } from '../../src/config/index.js';
import { TIC_LABELS } from '../../src/drivers/serial/tic/labels.js';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the simulator's byte count stops growing: every buffer between it and nobody is full. */
async function untilBlocked(bytes: () => number): Promise<number> {
  let last = -1;
  for (let i = 0; i < 100 && bytes() !== last; i++) {
    last = bytes();
    await settle(300);
  }
  return last;
}

/** Processes whose command line mentions `text` (socat is started with the pty folder in its arguments). */
const processesMentioning = (text: string): number[] =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);

describe('stopping a TIC simulator nobody reads', () => {
  it('stop() returns although a write is stuck on a full pty', async () => {
    const pair = await createPtyPair();
    const sim = await startTicSimulator({ path: pair.b, mode: 'standard', paceBaud: 0, gapMs: 0 });
    try {
      expect(await untilBlocked(() => sim.counts().bytes)).toBeGreaterThan(0);
      const stopped = await Promise.race([sim.stop().then(() => 'stopped'), settle(10_000).then(() => 'still waiting')]);
      expect(stopped).toBe('stopped');
    } finally {
      await pair.close();
    }
  }, 60_000);

  it('Ctrl-C on `simulate --pty` exits 0 and leaves no socat and no pty folder', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'simulate', '--profile', 'linky-tic-standard', '--pty'], { cwd: ROOT });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    while (!/connect the gateway to (\S+)/.test(stdout) && child.exitCode === null) await settle(50);
    const port = /connect the gateway to (\S+)/.exec(stdout)![1]!;
    const folder = dirname(port);
    // The printed hint lists the labels this simulator sends (issue 13 item 7), and loads as a site config.
    const labels = /labels: \[([^\]]+)\]/.exec(stdout)![1]!.split(',').map((l) => l.trim());
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) expect(TIC_LABELS[label]).toMatchObject({ mode: 'standard', numeric: true });
    const hint = stdout.slice(stdout.indexOf('buses:'));
    const site = loadConfigText(`site: { id: s, name: S }\ngateway: { id: g }\nstore: { path: /tmp/s.db, keyFile: /tmp/s.key }\n${hint}`, 'hint.yaml');
    expect(site.ok ? [] : site.errors).toEqual([]);
    expect(processesMentioning(folder).length).toBeGreaterThan(0);
    await settle(1000);
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(existsSync(folder)).toBe(false);
    expect(processesMentioning(folder)).toEqual([]);
  }, 60_000);
});
