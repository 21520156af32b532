/**
 * The trial's Node-RED probe (`probe:nodered`): when Node-RED ran before the change, it must run after
 * it: its editor answers (Node-RED listens once its runtime and flows are started) and then stays up
 * for a settle time without exiting (flows that throw at start crash it within a second or two).
 * A Node-RED that was not running before (no password set, crash loop) is not held against a change.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NodeRedState } from '../nodered/start.js';
import type { ProbeResult, TrialProbe } from '../remote/runtime.js';

/** How long Node-RED must stay up after its editor first answers. */
export const NODERED_SETTLE_MS = 3000;
const TICK_MS = 250;

/** GET /auth/login answers 200 (the login scheme, no credentials sent) once Node-RED has started. */
function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const target = new URL('auth/login', url);
    // Liveness of our own child on loopback or its own certificate: nothing is sent, nothing trusted.
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, { timeout: 2000, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Unexpected exits of the child so far (they only grow while one supervisor runs; a restart by the gateway starts a new one). */
const exits = (s: NodeRedState | undefined): string => `${s?.restarts ?? 0}/${s?.recentCrashes ?? 0}`;

export function noderedProbe(state: () => NodeRedState | undefined, settleMs = NODERED_SETTLE_MS): TrialProbe {
  return {
    baseline: () => ({ running: state()?.status === 'running' }),
    async probe(baseline: unknown, deadline: number): Promise<ProbeResult> {
      if (!(baseline as { running?: boolean } | undefined)?.running) return { ok: true };
      const before = exits(state());
      let upSince: number | undefined;
      for (;;) {
        const s = state();
        if (!s) return { ok: false, reason: 'probe:nodered', detail: 'Node-RED ran before the change and is not configured after it' };
        if (s.status === 'crash-loop' || s.status === 'refused' || s.status === 'no-password')
          return { ok: false, reason: 'probe:nodered', detail: `Node-RED is ${s.status}${s.reason ? `: ${s.reason}` : ''}` };
        if (exits(s) !== before)
          return { ok: false, reason: 'probe:nodered', detail: `Node-RED exited during the trial (code ${s.lastExit?.code ?? '?'}, signal ${s.lastExit?.signal ?? 'none'}): its flows crash it` };
        if (upSince !== undefined && Date.now() - upSince >= settleMs) return { ok: true };
        if (upSince === undefined && s.status === 'running' && (await answers(s.url))) upSince = Date.now();
        if (Date.now() >= deadline) return { ok: false, reason: 'probe:nodered', detail: upSince !== undefined ? 'Node-RED did not stay up' : `Node-RED did not answer on ${s.url} during the trial (status ${s.status})` };
        await new Promise((r) => setTimeout(r, TICK_MS));
      }
    },
  };
}
