/**
 * Is the wall clock right? On the gateway (Linux, systemd) the answer comes from the time sync
 * service; `site.clock.trust: always` is for machines whose clock is kept otherwise (a real-time
 * clock, a host that syncs a container's clock), and even then a clock before this release is wrong.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Created by systemd-timesyncd at its first synchronisation; lives until reboot (it is on a tmpfs). */
export const TIMESYNC_FLAG = '/run/systemd/timesync/synchronized';

/** No clock reading earlier than this release is right (a board without RTC boots in 1970 or 2000). */
export const CLOCK_NOT_BEFORE = Date.parse('2026-11-01T00:00:00Z');

/** How often the (comparatively costly) sync status is asked while the clock is not trusted. */
export const TRUST_RECHECK_MS = 5000;

export type ClockTrustMode = 'ntp' | 'always';

export interface ClockTrustOptions {
  readonly mode: ClockTrustMode;
  readonly notBefore?: number;
  readonly wallNow?: () => number;
  readonly monotonicNow?: () => number;
  readonly fileExists?: (path: string) => boolean;
  /** Whether the kernel clock is NTP-synchronised, whatever the NTP client (timesyncd, chrony, ntpd). */
  readonly ntpSynchronized?: () => boolean;
  readonly recheckMs?: number;
}

/**
 * Trusted when the systemd time sync flag exists, or timedatectl says the clock is NTP-synchronised,
 * or the mode is `always` and the wall clock is not before notBefore. Asked at most every recheckMs;
 * a yes is final (the guard latches it anyway).
 */
export function defaultClockTrust(opts: ClockTrustOptions): () => boolean {
  const notBefore = opts.notBefore ?? CLOCK_NOT_BEFORE;
  const wallNow = opts.wallNow ?? Date.now;
  const monotonicNow = opts.monotonicNow ?? (() => performance.now());
  const fileExists = opts.fileExists ?? existsSync;
  const ntpSynchronized = opts.ntpSynchronized ?? timedatectlSynchronized;
  const recheckMs = opts.recheckMs ?? TRUST_RECHECK_MS;
  let askedAt = -Infinity;
  let trusted = false;
  return () => {
    if (trusted) return true;
    const now = monotonicNow();
    if (now - askedAt < recheckMs) return false;
    askedAt = now;
    trusted = (opts.mode === 'always' && wallNow() >= notBefore) || fileExists(TIMESYNC_FLAG) || ntpSynchronized();
    return trusted;
  };
}

/** `timedatectl show -p NTPSynchronized --value` prints yes or no; any failure (no systemd, a container) is a no. */
export function timedatectlSynchronized(): boolean {
  try {
    const out = execFileSync('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim() === 'yes';
  } catch {
    return false;
  }
}
