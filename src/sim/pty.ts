/**
 * A pair of linked pseudo-terminals made by socat, as a USB-RS485 adapter and its far end would be:
 * what is written to one path is read from the other. Tests and simulators use real ptys through
 * `serialport`, never a mock binding.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PasserelleError } from '../core/errors.js';

export interface PtyPair {
  /** The gateway's side (what a config names as the bus port). */
  readonly a: string;
  /** The device's side (where a simulator listens). */
  readonly b: string;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 5000;

/**
 * Pairs still open when the process exits (a forced exit after a stop budget, an uncaught error): their
 * socat is killed and their folder removed then, so nothing is left behind either way.
 */
const openPairs = new Map<ChildProcess, string>();
process.on('exit', () => {
  for (const [child, dir] of openPairs) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

export async function createPtyPair(): Promise<PtyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'passerelle-pty-'));
  const a = join(dir, 'gateway');
  const b = join(dir, 'device');
  const child = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(existsSync(a) && existsSync(b))) {
    const failed = await Promise.race([spawnError, sleep(20).then(() => undefined)]);
    if (failed) throw new PasserelleError('E_PTY', `cannot start socat (install it: apt-get install socat): ${failed.message}`);
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new PasserelleError('E_PTY', `socat did not create the pty pair: ${stderr.trim() || 'timeout'}`);
    }
  }
  openPairs.set(child, dir);
  return {
    a,
    b,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
      openPairs.delete(child);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
