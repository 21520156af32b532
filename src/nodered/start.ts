/**
 * The gateway's one entry into Node-RED: prepares the state directory and the settings, then supervises
 * `node --max-old-space-size=N red.js --settings F --userDir D` as a child process. The gateway process
 * never loads Node-RED itself: a crash, an OOM or a busy loop in a flow stays in the child.
 */
import { chmodSync, chownSync, closeSync, constants, copyFileSync, existsSync, fsyncSync, lchownSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NoderedConfig } from '../config/schema.js';
import { errorMessage, PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { credentialSecret } from './credential-secret.js';
import { readAdminHash } from './password.js';
import { noderedPaths, type NodeRedPaths } from './paths.js';
import { resolveRunAs, type RunAs } from './run-as.js';
import { buildSettings, passerelleNodesDir, renderSettingsModule } from './settings.js';
import { ChildSupervisor, type ChildState, type ChildStatus, type SupervisorOptions } from './supervisor.js';

export type NodeRedStatus = ChildStatus | 'no-password' | 'refused';

export interface NodeRedState extends Omit<ChildState, 'status'> {
  readonly status: NodeRedStatus;
  /** Why Node-RED is not running, when it is not. */
  readonly reason?: string;
  /** Where the editor is reached. */
  readonly url: string;
}

export interface NodeRedHandle {
  state(): NodeRedState;
  stop(): Promise<void>;
  readonly paths: NodeRedPaths;
}

export interface NodeRedDeps {
  readonly logger: Logger;
  /** Copied to the flow file when there is none yet (the demo's example flows). */
  readonly seedFlows?: string;
  /** Test hooks: shorter crash-loop and stop bounds. */
  readonly supervisor?: Pick<SupervisorOptions, 'maxCrashes' | 'crashWindowMs' | 'stopTimeoutMs' | 'backoffMs' | 'onState'>;
}

const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What `prepareNodeRed` leaves: the state directory and settings written, and how to start red.js. */
export type PreparedNodeRed =
  | { readonly ok: true; readonly paths: NodeRedPaths; readonly url: string; readonly runAs?: RunAs; readonly args: readonly string[] }
  | { readonly ok: false; readonly paths: NodeRedPaths; readonly url: string; readonly status: 'no-password' | 'refused'; readonly reason: string };

/**
 * Everything before the child starts, shared by the gateway (supervisor: gateway) and the packaged unit's
 * root step (`passerelle nodered prepare`, supervisor: systemd): state directory, password hash, credential
 * secret, settings.cjs (root:flows group 0640 when run as root), the flows user's userDir. Never throws.
 */
export function prepareNodeRed(config: NoderedConfig, seedFlows?: string): PreparedNodeRed {
  const paths = noderedPaths(config);
  const url = `${config.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}/`;
  try {
    prepareDirs(paths);
    const adminHash = readAdminHash(paths.passwordFile);
    if (adminHash === undefined) {
      return {
        ok: false,
        paths,
        url,
        status: 'no-password',
        reason: 'Node-RED not started: no editor password is set; run `passerelle nodered passwd --config FILE` on the gateway, then restart it',
      };
    }
    const runAs = resolveRunAs(config.runAs);
    if (runAs) assertReachable(paths.dir, runAs);
    const settings = buildSettings({ config, paths, adminHash, credentialSecret: credentialSecret(paths.credentialKeyFile), nodesDir: passerelleNodesDir(PACKAGE_ROOT) });
    writeSettings(paths.settingsFile, renderSettingsModule(settings, config.tls), runAs);
    if (seedFlows && !existsSync(paths.flowFile)) copyFileSync(seedFlows, paths.flowFile);
    if (runAs) chownTree(paths.userDir, runAs);
    const args = [`--max-old-space-size=${config.maxOldSpaceMB}`, redJs(), '--settings', paths.settingsFile, '--userDir', paths.userDir];
    return { ok: true, paths, url, runAs, args };
  } catch (e) {
    return { ok: false, paths, url, status: 'refused', reason: `Node-RED not started: ${errorMessage(e)}` };
  }
}

export function startNodeRed(config: NoderedConfig, deps: NodeRedDeps): NodeRedHandle {
  const logger = deps.logger.child({ part: 'nodered' });
  const prepared = prepareNodeRed(config, deps.seedFlows);
  const { paths, url } = prepared;
  if (!prepared.ok) {
    const { status, reason } = prepared;
    (status === 'no-password' ? logger.warn : logger.error).call(logger, { status }, reason);
    const state: NodeRedState = { status, reason, url, restarts: 0, recentCrashes: 0 };
    return { paths, state: () => state, stop: async () => {} };
  }
  const { runAs } = prepared;
  const supervisor = new ChildSupervisor({
    command: process.execPath,
    args: prepared.args,
    // A clean environment: nothing of the gateway's (no secrets, no NODE_OPTIONS, no NODE_RED_ENABLE_*).
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: paths.userDir, NODE_ENV: 'production', TZ: process.env.TZ, LANG: 'C.UTF-8' },
    cwd: paths.userDir,
    uid: runAs?.uid,
    gid: runAs?.gid,
    logger,
    ...deps.supervisor,
  });
  supervisor.start();
  logger.info({ url, runAs: runAs?.name, heapMB: config.maxOldSpaceMB }, 'Node-RED started');
  return { paths, state: () => ({ ...supervisor.state(), url }), stop: () => supervisor.stop() };
}

/** Node-RED's own launcher inside our dependency (node-red has no exports map: the path resolves). */
export const redJs = (): string => createRequire(import.meta.url).resolve('node-red/red.js');

function prepareDirs(paths: NodeRedPaths): void {
  // Parents with the usual mode (the flows user must traverse them), the state directory closed to others.
  mkdirSync(dirname(paths.dir), { recursive: true });
  mkdirSync(paths.dir, { recursive: true, mode: 0o750 });
  mkdirSync(paths.userDir, { recursive: true, mode: 0o700 });
}

/** settings.cjs holds the password hash and the credential secret: the gateway's user writes it, the flows user reads it. */
function writeSettings(file: string, text: string, runAs: RunAs | undefined): void {
  atomicRootFile(file, text, (tmp) => {
    if (!runAs) return;
    chownSync(tmp, 0, runAs.gid);
    chmodSync(tmp, 0o640);
    chownSync(join(file, '..'), 0, runAs.gid);
    chmodSync(join(file, '..'), 0o750);
  });
}

/** Writes `file` atomically (0600, then `before` may change owner and mode before the rename). */
export function atomicRootFile(file: string, text: string, before?: (tmp: string) => void): void {
  const tmp = `${file}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  // O_EXCL: a file planted under the temporary name (a link to another file) is never written through.
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  before?.(tmp);
  renameSync(tmp, file);
}

/** userDir and what is in it belong to the flows user (a restored backup may be root's). */
function chownTree(dir: string, runAs: RunAs): void {
  chownSync(dir, runAs.uid, runAs.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) chownTree(path, runAs);
    else lchownSync(path, runAs.uid, runAs.gid);
  }
}

/** The flows user must traverse every parent of the state directory, or Node-RED would crash at each start. */
function assertReachable(dir: string, runAs: RunAs): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    const mayEnter = st.uid === runAs.uid ? st.mode & 0o100 : st.gid === runAs.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!mayEnter) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new PasserelleError('E_NODERED_DIR', `the flows user ${runAs.name} cannot enter ${d} (mode ${mode}), on the way to nodered.dir ${dir}; choose a dir under /var/lib/passerelle or let others traverse ${d} (chmod o+x)`);
    }
    if (d === dirname(d)) return;
  }
}
