/** An agent on a real state directory and a real site file, with a scripted runtime (probe results chosen by the test). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIssue, loadConfigText, type Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/core/logger.js';
import { RemoteAgent } from '../../src/remote/agent.js';
import type { ProbeResult, RemoteRuntime } from '../../src/remote/runtime.js';
import { StateDir, type CrashPoint } from '../../src/remote/state.js';
import type { RemoteStatus } from '../../src/remote/status.js';
import { newKeyring, siteText, trustFile, type Keyring } from './fixtures.js';

export class ScriptedRuntime implements RemoteRuntime {
  readonly ran: Config[] = [];
  probeResult: ProbeResult = { ok: true };
  preflightError?: Error;
  /** What baseline() says works now; the baselines probe() was given. */
  baselineValue: unknown = undefined;
  readonly probedWith: unknown[] = [];
  async run(config: Config): Promise<void> {
    this.ran.push(config);
  }
  baseline(): unknown {
    return this.baselineValue;
  }
  async probe(baseline: unknown): Promise<ProbeResult> {
    this.probedWith.push(baseline);
    return this.probeResult;
  }
  async preflight(): Promise<void> {
    if (this.preflightError) throw this.preflightError;
  }
}

export const parseSite = (text: string, file: string): { ok: true; config: Config } | { ok: false; errors: string[] } => {
  const r = loadConfigText(text, file);
  return r.ok ? r : { ok: false, errors: r.errors.map(formatIssue) };
};

export interface Harness {
  dir: string;
  keys: Keyring;
  localFile: string;
  localText: string;
  runtime: ScriptedRuntime;
  statuses: RemoteStatus[];
  agent: RemoteAgent;
  stateDir: StateDir;
  /** A fresh agent on the same files (a restart). */
  restart(crashAt?: (p: CrashPoint) => void): RemoteAgent;
}

export function makeHarness(opts: { now?: () => number; keys?: Keyring } = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'passerelle-remote-'));
  const keys = opts.keys ?? newKeyring();
  const trustPath = join(dir, 'trust.dsse.json');
  writeFileSync(trustPath, trustFile(keys));
  const localFile = join(dir, 'site.yaml');
  const localText = siteText({ storeDir: dir });
  writeFileSync(localFile, localText);
  const runtime = new ScriptedRuntime();
  const statuses: RemoteStatus[] = [];
  const make = (crashAt?: (p: CrashPoint) => void) => {
    const stateDir = new StateDir(join(dir, 'cfg'), crashAt);
    h.stateDir = stateDir;
    return new RemoteAgent({
      gateway: 'gw-0001',
      stateDir,
      localFile,
      trustFile: trustPath,
      runtime,
      parse: parseSite,
      logger: silentLogger(),
      maxBytes: 262_144,
      headMaxAgeMs: 26 * 3_600_000,
      report: async (s) => {
        statuses.push(s);
      },
      ...(opts.now ? { now: opts.now } : {}),
    });
  };
  const h = { dir, keys, localFile, localText, runtime, statuses } as unknown as Harness;
  h.agent = make();
  h.restart = (crashAt) => (h.agent = make(crashAt));
  return h;
}
