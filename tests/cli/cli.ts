/**
 * Runs `passerelle <args>` as a user does, in a child process (asynchronously, so a simulator in the test
 * process keeps answering), through the real entry point src/cli/main.ts.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');

const ENTRY = 'src/cli/main.ts';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly timeoutMs?: number;
  /** Run as another user (e.g. setpriv arguments), for permission tests. */
  readonly wrapper?: readonly string[];
}

export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
  const [command, ...rest] = [...(opts.wrapper ?? []), tsx, ENTRY, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command!, rest, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Rows of a formatTable() table: header cells, then each row split on runs of 2+ spaces. */
export function parseTable(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const split = (l: string) => l.trim().split(/\s{2,}/);
  return { header: split(lines[0] ?? ''), rows: lines.slice(1).map(split) };
}
