/**
 * Child of the power-cut test: boots an agent on the harness files in argv[2] and applies the bundle in
 * bundle.json there. PASSERELLE_CRASH_AT makes it SIGKILL itself at that step; PROBE_FAIL=1 fails the trial.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { RemoteAgent } from '../../src/remote/agent.js';
import { StateDir } from '../../src/remote/state.js';
import { parseSite, ScriptedRuntime } from './agent-harness.js';

const dir = process.argv[2]!;
const runtime = new ScriptedRuntime();
if (process.env.PROBE_FAIL === '1') runtime.probeResult = { ok: false, reason: 'probe:bus:lan', detail: 'injected' };
const agent = new RemoteAgent({
  gateway: 'gw-0001',
  stateDir: new StateDir(join(dir, 'cfg')),
  localFile: join(dir, 'site.yaml'),
  trustFile: join(dir, 'trust.dsse.json'),
  runtime,
  parse: parseSite,
  logger: silentLogger(),
  maxBytes: 262_144,
  headMaxAgeMs: 3_600_000,
});
await agent.boot();
const outcome = await agent.receive(readFileSync(join(dir, 'bundle.json')));
process.stdout.write(`${JSON.stringify(outcome)}\n`);
