/**
 * What `passerelle run` tells systemd under a `Type=notify` unit, with a fixed config or under remote
 * configuration (where a config change restarts the Gateway): READY once, after the first poll cycle of
 * the gateway that runs; WATCHDOG=1 only while the running gateway makes progress; STATUS one line,
 * prefixed during a config trial; STOPPING on SIGTERM. The protocol itself is in sd-notify.ts.
 */
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Gateway } from './gateway.js';
import { notifierFromEnv, startWatchdog, statusLine, watchdogIntervalMs, type Notifier, type SendNotify } from './sd-notify.js';

/** A config change stops one gateway and starts the next in seconds; longer than this, pings stop. */
export const RESTART_GRACE_MS = 30_000;

export interface ServiceState {
  /** The gateway running now; undefined while a config change restarts it. */
  gateway(): Gateway | undefined;
  /** What STATUS starts with, e.g. during a remote config trial; undefined for nothing. */
  note?(): string | undefined;
}

export class ServiceNotifications {
  private ready = false;
  private stopped = false;
  private stopWatchdog: () => void = () => undefined;
  private missingSince?: number;

  constructor(
    private readonly notifier: Notifier,
    private readonly env: NodeJS.ProcessEnv,
    private readonly state: ServiceState,
    private readonly logger: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A gateway has started (the first, or after a config change): READY after its first cycle, once; then a fresh STATUS each start. */
  started(gateway: Gateway): void {
    if (this.ready) return this.notifier.send({ STATUS: this.status() });
    void gateway.firstCycle().then(() => {
      // A gateway replaced before its first cycle never makes us ready: its successor does.
      if (this.ready || this.stopped || this.state.gateway() !== gateway) return;
      this.ready = true;
      this.notifier.send({ READY: '1', STATUS: this.status() });
      const interval = watchdogIntervalMs(this.env);
      if (!interval) return;
      const liveness = { stalled: () => this.stalled(), status: () => this.status() };
      this.stopWatchdog = startWatchdog(this.notifier, interval, liveness, (why) => this.logger.error({ why }, 'no progress: watchdog ping withheld'));
    });
  }

  /** SIGTERM: no more pings, STOPPING now (systemd then waits for the exit, not for the watchdog). */
  stopping(): void {
    this.stopped = true;
    this.stopWatchdog();
    this.notifier.send({ STOPPING: '1', STATUS: 'stopping: flushing and closing' }, ['WATCHDOG']);
  }

  idle(): Promise<void> {
    return this.notifier.idle();
  }

  private stalled(): string | undefined {
    const gateway = this.state.gateway();
    if (gateway) {
      this.missingSince = undefined;
      return gateway.stalled();
    }
    this.missingSince ??= this.now();
    const ms = this.now() - this.missingSince;
    return ms > RESTART_GRACE_MS ? `no gateway running for ${Math.round(ms / 1000)} s (config change)` : undefined;
  }

  private status(): string {
    const text = this.state.gateway()?.statusLine() ?? 'restarting with a new config';
    const note = this.state.note?.();
    return statusLine(note ? `${note}: ${text}` : text);
  }
}

/** Notifications when systemd asked for them (NOTIFY_SOCKET), else undefined. */
export function serviceNotifications(env: NodeJS.ProcessEnv, state: ServiceState, logger: Logger, send?: SendNotify): ServiceNotifications | undefined {
  const notifier = notifierFromEnv(env, send, (e) => logger.warn({ err: errorMessage(e) }, 'systemd notification failed'));
  return notifier && new ServiceNotifications(notifier, env, state, logger);
}
