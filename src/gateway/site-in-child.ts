/**
 * A site config loaded and checked in a short-lived child process (site-child.ts). Loading needs zod,
 * the config and profile schemas and yaml (about 7 MB of heap), and an ES module once imported stays
 * for the life of the process: `passerelle run` keeps none of them. A child rather than a worker thread:
 * a worker's malloc arena kept its memory after it ended (RSS unchanged, docs/memory.md). The child has
 * exited before the promise settles; the gateway gets the validated config by structured clone, and the
 * same errors as an in-process load (ConfigRejected with its FILE:LINE:COL lines, a PasserelleError with
 * its code, a system error with its syscall).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { PasserelleError } from '../core/errors.js';
import type { Profile } from '../profiles/schema.js';
import { ConfigRejected } from './config-rejected.js';

export interface LoadedSite {
  readonly config: Config;
  readonly profiles: Map<string, Profile>;
  /** The line budget's advice, each with its FILE:LINE:COL. */
  readonly warnings: readonly { readonly at: string; readonly message: string }[];
}

export interface ThrownError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  readonly code?: string;
  readonly syscall?: string;
  readonly errno?: number;
  readonly path?: string;
  readonly retryable?: boolean;
}

export type SiteReply = ({ readonly ok: true } & LoadedSite) | { readonly ok: false; readonly rejected: string[] } | { readonly ok: false; readonly error: ThrownError };

/** dist/'s site-child.js; run from src/ (tsx, as the CLI tests do), site-child.ts under tsx's hooks. */
const fromSource = import.meta.url.endsWith('.ts');
const ENTRY = fileURLToPath(new URL(fromSource ? './site-child.ts' : './site-child.js', import.meta.url));

export function loadSiteInChild(file: string): Promise<LoadedSite> {
  return new Promise((resolve, reject) => {
    // 'advanced': structured clone, as between threads (a Map stays a Map). No Node options of ours: the
    // loader needs none (the gateway's --import hooks, if any, are not for it).
    const child = fork(ENTRY, [file], { serialization: 'advanced', execArgv: fromSource ? ['--import', import.meta.resolve('tsx')] : [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    let reply: SiteReply | undefined;
    let failure: unknown;
    child.once('message', (m: SiteReply) => (reply = m));
    child.once('error', (e) => (failure = e));
    // Settled on exit, not on the message: the loader's memory is returned before the gateway starts.
    child.once('exit', (code, signal) => {
      if (reply?.ok) return resolve({ config: reply.config, profiles: reply.profiles, warnings: reply.warnings });
      if (reply) return reject('rejected' in reply ? new ConfigRejected(reply.rejected) : rethrown(reply.error));
      reject(failure ?? new PasserelleError('E_CONFIG_LOADER', `the config loader ended (${signal ?? `exit code ${code}`}) without an answer`));
    });
  });
}

function rethrown(e: ThrownError): Error {
  const error = e.name === 'PasserelleError' && e.code ? new PasserelleError(e.code, e.message, e.retryable) : Object.assign(new Error(e.message), { name: e.name });
  if (e.stack) error.stack = e.stack;
  for (const key of ['code', 'syscall', 'errno', 'path'] as const) if (e[key] !== undefined && !(key in error)) Object.assign(error, { [key]: e[key] });
  return error;
}
