/**
 * Flows carried by a remote bundle (`nodered/flows.json`) into the flows file Node-RED reads, and back.
 * Two small files at the top of `nodered.dir` (the gateway's, never the flows user's) remember what
 * was done: `flows.pushed.json` the hash of the flows a push installed, `flows.local.json` the flows
 * that ran before the first push (a technician's), restored when a config without flows runs again.
 * A flows file whose hash is not the one installed was changed in the editor since: a push carrying
 * flows is then refused (`base-mismatch`), never written over that edit.
 * Node-RED must be stopped while the file is replaced (its supervisor restarts it afterwards).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { NoderedConfig } from '../config/schema.js';
import { noderedPaths } from '../nodered/paths.js';
import { fsyncDir, writeAtomic } from '../remote/atomic-file.js';
import { textHash } from '../remote/bundle.js';

/** A file's text, or undefined when there is none. */
export const readIfAny = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

function files(config: NoderedConfig) {
  const paths = noderedPaths(config);
  return { flows: paths.flowFile, userDir: paths.userDir, pushed: join(paths.dir, 'flows.pushed.json'), local: join(paths.dir, 'flows.local.json') };
}

const pushedHash = (file: string): string | undefined => {
  const text = readIfAny(file);
  return text === undefined ? undefined : (JSON.parse(text) as { sha256: string }).sha256;
};

/**
 * Why flows carried by a push may not replace the running ones, or undefined: the flows a push
 * installed were edited in the editor since, or flows made on site (never pushed, not empty) run.
 */
export function flowsEditedOnSite(config: NoderedConfig): string | undefined {
  const f = files(config);
  const now = readIfAny(f.flows);
  const pushed = pushedHash(f.pushed);
  if (pushed !== undefined) return now !== undefined && textHash(now) !== pushed ? 'the Node-RED flows were changed in the editor since the last push installed them' : undefined;
  if (now !== undefined && now.trim() !== '' && now.trim() !== '[]') return 'Node-RED runs flows made on site that no push installed';
  return undefined;
}

/**
 * Makes the flows file hold `flows` (a push's), or, with undefined, the flows that ran before any push.
 * Atomic (temp, fsync, rename, directory fsync). Returns whether the file changed.
 */
export function installFlows(config: NoderedConfig, flows: string | undefined): boolean {
  const f = files(config);
  const now = readIfAny(f.flows);
  const pushed = pushedHash(f.pushed);
  if (flows !== undefined) {
    // As startNodeRed prepares them: the flows user must still traverse nodered.dir.
    mkdirSync(dirname(join(f.userDir, '..')), { recursive: true });
    mkdirSync(join(f.userDir, '..'), { recursive: true, mode: 0o750 });
    mkdirSync(f.userDir, { recursive: true, mode: 0o700 });
    // The first push keeps what ran before it, for a rollback to the site's own config.
    if (pushed === undefined && now !== undefined) writeAtomic(f.local, now);
    if (now !== flows) writeAtomic(f.flows, flows);
    writeAtomic(f.pushed, `${JSON.stringify({ sha256: textHash(flows) })}\n`);
    return now !== flows;
  }
  if (pushed === undefined) return false;
  const local = readIfAny(f.local);
  if (local !== undefined) writeAtomic(f.flows, local);
  else rmSync(f.flows, { force: true });
  rmSync(f.pushed, { force: true });
  rmSync(f.local, { force: true });
  fsyncDir(join(f.pushed, '..'));
  fsyncDir(f.userDir);
  return now !== local;
}

/** The flows file's text when a push installed flows and the editor changed them since; undefined otherwise. */
export function editedPushedFlows(config: NoderedConfig): string | undefined {
  const f = files(config);
  const pushed = pushedHash(f.pushed);
  const now = readIfAny(f.flows);
  return pushed !== undefined && now !== undefined && textHash(now) !== pushed ? now : undefined;
}

/** Whether installFlows(config, flows) would change the flows file (then Node-RED restarts, and a site edit would be lost). */
export function flowsWouldChange(config: NoderedConfig, flows: string | undefined): boolean {
  const f = files(config);
  const now = readIfAny(f.flows);
  if (flows !== undefined) return now !== flows;
  return pushedHash(f.pushed) !== undefined && now !== readIfAny(f.local);
}
