/**
 * Keeps one child process running: restarts it after an unexpected exit with a jittered, growing delay,
 * and stays down once it has crashed `maxCrashes` times within `crashWindowMs` (a crash loop: a bad flow,
 * a port taken), saying so in its state and the log. Stop is SIGTERM, then SIGKILL after `stopTimeoutMs`.
 * The child's output goes to our logger, line by line, bounded (see OutputLines).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../core/logger.js';
import { OutputLines } from './output-lines.js';

export type ChildStatus = 'starting' | 'running' | 'backoff' | 'crash-loop' | 'stopping' | 'stopped';

export interface ChildState {
  readonly status: ChildStatus;
  readonly pid?: number;
  /** Starts after an unexpected exit since the supervisor started. */
  readonly restarts: number;
  /** Unexpected exits inside the crash window. */
  readonly recentCrashes: number;
  readonly lastExit?: { readonly code: number | null; readonly signal: string | null; readonly at: number };
}

export interface SupervisorOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly logger: Logger;
  /** Called before each start (e.g. to restore files); an error stops the supervisor, reported. */
  readonly beforeStart?: () => void;
  readonly maxCrashes?: number;
  readonly crashWindowMs?: number;
  readonly stopTimeoutMs?: number;
  readonly backoffMs?: { readonly first: number; readonly max: number };
  /** Every state change (health, tests). */
  readonly onState?: (s: ChildState) => void;
}

export const DEFAULT_MAX_CRASHES = 5;
export const DEFAULT_CRASH_WINDOW_MS = 10 * 60_000;
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
const DEFAULT_BACKOFF = { first: 2_000, max: 60_000 };

export class ChildSupervisor {
  private child?: ChildProcess;
  private status: ChildStatus = 'stopped';
  private restarts = 0;
  private crashes: number[] = [];
  private lastExit?: ChildState['lastExit'];
  private restartTimer?: NodeJS.Timeout;
  private exited?: Promise<void>;
  private readonly log: Logger;

  constructor(private readonly opts: SupervisorOptions) {
    this.log = opts.logger;
  }

  state(): ChildState {
    return { status: this.status, pid: this.child?.pid, restarts: this.restarts, recentCrashes: this.crashes.length, lastExit: this.lastExit };
  }

  start(): void {
    if (this.status !== 'stopped' && this.status !== 'backoff') return;
    try {
      this.opts.beforeStart?.();
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'Node-RED not started');
      this.setStatus('stopped');
      return;
    }
    const { command, args, env, cwd, uid, gid } = this.opts;
    const child = spawn(command, args, { env, cwd, uid, gid, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const out = new OutputLines(this.log);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => out.push(d));
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => this.log.error({ err: e.message }, 'Node-RED process could not be started'));
      child.once('close', (code, signal) => {
        out.end();
        this.child = undefined;
        this.lastExit = { code, signal, at: Date.now() };
        resolve();
        this.onExit(code, signal);
      });
    });
    this.setStatus(child.pid === undefined ? 'starting' : 'running');
  }

  /** SIGTERM, then SIGKILL after the stop bound; resolves once the child is gone. */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) {
      this.setStatus(this.status === 'crash-loop' ? 'crash-loop' : 'stopped');
      return;
    }
    this.setStatus('stopping');
    child.kill('SIGTERM');
    const bound = this.opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const killer = setTimeout(() => {
      this.log.warn({ afterMs: bound }, 'Node-RED did not stop on SIGTERM: killed');
      child.kill('SIGKILL');
    }, bound);
    await this.exited;
    clearTimeout(killer);
  }

  private onExit(code: number | null, signal: string | null): void {
    if (this.status === 'stopping') {
      this.setStatus('stopped');
      return;
    }
    const now = Date.now();
    const window = this.opts.crashWindowMs ?? DEFAULT_CRASH_WINDOW_MS;
    this.crashes = [...this.crashes.filter((t) => now - t < window), now];
    const max = this.opts.maxCrashes ?? DEFAULT_MAX_CRASHES;
    if (this.crashes.length >= max) {
      this.log.error(
        { code, signal, crashes: this.crashes.length, withinMs: window },
        `Node-RED crashed ${this.crashes.length} times within ${Math.round(window / 60_000)} min: not restarted again (crash loop); fix the cause, then restart the gateway`,
      );
      this.setStatus('crash-loop');
      return;
    }
    const delay = this.backoff(this.crashes.length);
    this.log.warn({ code, signal, restartInMs: delay }, 'Node-RED exited unexpectedly: restarting');
    this.setStatus('backoff');
    this.restartTimer = setTimeout(() => {
      this.restarts += 1;
      this.start();
    }, delay);
  }

  /** Doubles per recent crash, up to the max, with ±25 % jitter so gateways of a fleet do not restart in step. */
  private backoff(recent: number): number {
    const { first, max } = this.opts.backoffMs ?? DEFAULT_BACKOFF;
    const base = Math.min(max, first * 2 ** (recent - 1));
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  private setStatus(status: ChildStatus): void {
    this.status = status;
    this.opts.onState?.(this.state());
  }
}
