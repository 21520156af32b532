/**
 * The one narrow interface between the remote agent and the rest of the gateway: run a config, say what
 * answered before a change, probe after it, and pre-flight a config before it is staged.
 */
import type { Config } from '../config/schema.js';

export type ProbeResult = { ok: true } | { ok: false; reason: string; detail: string };

/**
 * A probe another part of the gateway adds to every trial (the hook for the supervised Node-RED child:
 * its deployed flows answer and match the running config's flows file). Its baseline must be plain JSON:
 * it is persisted next to the state file, so a trial resumed after a power cut compares with it.
 */
export interface TrialProbe {
  /** What works now, before the change (plain JSON). */
  baseline(): unknown;
  /** Resolves ok once the probe holds against `baseline`, or with the failure; still failing at `deadline` (ms since epoch) is a failure. */
  probe(baseline: unknown, deadline: number): Promise<ProbeResult>;
}

export interface RemoteRuntime {
  /** Runs `config`, restarting only what it changes; resolves once started. Throws when it cannot start. */
  run(config: Config): Promise<void>;
  /** What works now (buses that answered, their error rates, added probes' baselines): plain JSON, persisted for the trial. */
  baseline(): unknown;
  /**
   * Trial probes against the baseline: resolves ok once every probe passed, or the first failure; a probe
   * still failing at `deadline` (ms since epoch) is a failure.
   */
  probe(baseline: unknown, deadline: number): Promise<ProbeResult>;
  /**
   * Checks `next` can work before anything is staged (a new broker is connected to first, Node-RED flows
   * edited on site are not written over unless `forced`: a bundle with `base: any`); throws a Refusal.
   */
  preflight(next: Config, running: Config, forced?: boolean): Promise<void>;
  /** Adds a probe to every trial from now on, under `name` (its failure reason is `probe:<name>`). */
  addProbe?(name: string, probe: TrialProbe): void;
  /** Files of the running config changed on site outside the site file (Node-RED flows edited in the editor): reported `dirty`, with their text for the operator to merge. */
  localEdits?(): { readonly flows?: string } | undefined;
}
