/**
 * systemd's notify protocol (sd_notify(3)) for `Type=notify` units: READY, WATCHDOG, STOPPING, STATUS.
 *
 * Node has no AF_UNIX datagram socket, so each message is sent by `systemd-notify VAR=VALUE...`
 * (execFile, no shell). Why not a native module (unix-dgram): one more addon to build per Node ABI and
 * per arch, for a few messages a minute. Why this is sound: since systemd 246 `systemd-notify` waits
 * (sd_notify_barrier) until the manager has read the message, so the sender is still alive to be
 * attributed to the unit; the unit needs `NotifyAccess=all` because the sender is our child, not the
 * main pid. A stalled event loop cannot spawn, so the watchdog then lapses, which is what we want.
 * At most one `systemd-notify` runs at a time; a message arriving meanwhile replaces the pending one
 * (the newest state wins; READY/STOPPING are merged in, never lost; a stall withdraws a pending ping).
 */
import { execFile } from 'node:child_process';

export type NotifyFields = Readonly<Record<string, string>>;
export type SendNotify = (fields: NotifyFields) => Promise<void>;

export interface Notifier {
  /** Sends the fields; `withdraw` removes fields still pending (a ping earned before a stall). */
  send(fields: NotifyFields, withdraw?: readonly string[]): void;
  /** Resolves when nothing is in flight or pending (tests, shutdown). */
  idle(): Promise<void>;
}

/** STATUS is one line: systemd shows it in `systemctl status`. */
export const statusLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').slice(0, 200);

/** Runs `systemd-notify` with the fields as VAR=VALUE arguments; rejects on a non-zero exit. */
export const spawnSystemdNotify =
  (socket: string, command = 'systemd-notify'): SendNotify =>
  (fields) =>
    new Promise((resolve, reject) => {
      const args = Object.entries(fields).map(([k, v]) => `${k}=${v}`);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NOTIFY_SOCKET: socket };
      execFile(command, args, { env, timeout: 10_000 }, (err) => (err ? reject(err) : resolve()));
    });

/** A notifier when systemd asked for one (NOTIFY_SOCKET set), else undefined. */
export function notifierFromEnv(env: NodeJS.ProcessEnv, send?: SendNotify, onError: (e: unknown) => void = () => undefined): Notifier | undefined {
  if (!env.NOTIFY_SOCKET) return undefined;
  return new SerialNotifier(send ?? spawnSystemdNotify(env.NOTIFY_SOCKET), onError);
}

class SerialNotifier implements Notifier {
  private inFlight?: Promise<void>;
  private pending?: Record<string, string>;

  constructor(
    private readonly sendNow: SendNotify,
    private readonly onError: (e: unknown) => void,
  ) {}

  send(fields: NotifyFields, withdraw: readonly string[] = []): void {
    this.pending = { ...this.pending, ...fields };
    for (const name of withdraw) delete this.pending[name];
    if (!this.inFlight) this.drain();
  }

  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private drain(): void {
    const fields = this.pending;
    this.pending = undefined;
    if (!fields) return void (this.inFlight = undefined);
    this.inFlight = this.sendNow(fields)
      .catch((e: unknown) => this.onError(e))
      .then(() => this.drain());
  }
}

/**
 * The watchdog ping interval, half of WATCHDOG_USEC as sd_watchdog_enabled(3) advises, or undefined
 * when no watchdog is asked for us (unset, unparsable, or WATCHDOG_PID names another process).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export interface Liveness {
  /** Undefined while the gateway makes progress, else why not (logged, the ping is withheld). */
  stalled(): string | undefined;
  /** One line for STATUS. */
  status(): string;
}

/**
 * Pings WATCHDOG=1 (with a fresh STATUS) every interval while the gateway makes progress; withholds it
 * otherwise, so systemd restarts a gateway whose bus hung. Returns the function that stops it.
 */
export function startWatchdog(notifier: Notifier, intervalMs: number, liveness: Liveness, onStall: (why: string) => void): () => void {
  let lastStall: string | undefined;
  const timer = setInterval(() => {
    const why = liveness.stalled();
    if (why) {
      if (why !== lastStall) onStall(why);
      lastStall = why;
      return notifier.send({ STATUS: statusLine(`stalled: ${why}`) }, ['WATCHDOG']);
    }
    lastStall = undefined;
    notifier.send({ WATCHDOG: '1', STATUS: statusLine(liveness.status()) });
  }, intervalMs);
  return () => clearInterval(timer);
}
