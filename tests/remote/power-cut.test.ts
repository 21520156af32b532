/**
 * kill -9 at each step of an apply, repeated: after the restart the gateway runs the old config or the
 * new one (in trial, then committed), never a mix, and the state file always parses.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { textHash } from '../../src/remote/bundle.js';
import type { CrashPoint } from '../../src/remote/state.js';
import { makeHarness } from './agent-harness.js';
import { bundleBytes, bundleInput, siteText } from './fixtures.js';

const CHILD = new URL('./apply-child.ts', import.meta.url).pathname;
const REPEATS = 3;

function runChild(dir: string, env: Record<string, string>): Promise<{ signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir], { stdio: 'ignore', env: { ...process.env, ...env } });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

const POINTS: [CrashPoint, boolean][] = [
  ['slot-written', false],
  ['state-tmp-written', false],
  ['trial-started', false],
  ['before-commit', false],
  ['before-rollback', true],
];

describe('power cut during apply', () => {
  it.each(POINTS)(`SIGKILL at %s (probe fails: %s), ${REPEATS} times: old or new config, never a mix`, async (point, probeFail) => {
    for (let i = 0; i < REPEATS; i++) {
      const h = makeHarness();
      await h.agent.boot(); // the state file exists: the child's first state write is the one that stages
      const next = siteText({ storeDir: h.dir, window: '10m' });
      writeFileSync(join(h.dir, 'bundle.json'), bundleBytes(bundleInput(next, { base: textHash(h.localText) }), h.keys.config));
      const exit = await runChild(h.dir, { PASSERELLE_CRASH_AT: point, PROBE_FAIL: probeFail ? '1' : '0' });
      expect(exit.signal).toBe('SIGKILL');

      const state = JSON.parse(readFileSync(join(h.dir, 'cfg', 'state.json'), 'utf8'));
      const staged = state.trial !== null;
      expect(state.lastSeq).toBe(staged || state.committed ? 1 : 0);
      if (staged) expect(readFileSync(join(h.dir, 'cfg', 'slots', state.trial.slot, 'site.yaml'), 'utf8')).toBe(next);

      h.restart();
      await h.agent.boot();
      const ran = h.runtime.ran.at(-1)!;
      expect([textHash(h.localText), textHash(next)]).toContain(h.agent.runningSha256);
      expect(ran.aggregation.window).toBe(h.agent.runningSha256 === textHash(next) ? 600_000 : 300_000);
      if (staged) expect(h.agent.status().last).toMatchObject({ seq: 1, outcome: 'applied' }); // one re-trial, passed
      else expect(h.agent.runningSha256).toBe(textHash(h.localText));
      expect(readFileSync(h.localFile, 'utf8')).toBe(h.localText);
    }
  }, 120_000);
});
