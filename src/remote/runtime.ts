/**
 * The one narrow interface between the remote agent and the rest of the gateway: run a config, say what
 * answered before a change, probe after it, and pre-flight a config before it is staged.
 */
import type { Config } from '../config/schema.js';

export type ProbeResult = { ok: true } | { ok: false; reason: string; detail: string };

export interface RemoteRuntime {
  /** Runs `config`, restarting what it changes; resolves once started. Throws when it cannot start. */
  run(config: Config): Promise<void>;
  /** What works now (e.g. buses that answered), to be compared after a change. */
  baseline(): unknown;
  /**
   * Trial probes against the baseline: resolves ok once every probe passed, or the first failure; a probe
   * still failing at `deadline` (ms since epoch) is a failure.
   */
  probe(baseline: unknown, deadline: number): Promise<ProbeResult>;
  /** Checks `next` can work before anything is staged (a new broker is connected to first); throws a Refusal. */
  preflight(next: Config, running: Config): Promise<void>;
}
