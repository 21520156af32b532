/**
 * Which user the Node-RED child runs as. A gateway started by root (an install) never runs flows as
 * root: the child gets the unprivileged `nodered.runAs` user, which has no access to the serial ports,
 * the store or its key (deploy creates it; docs/node-red.md). A gateway already running as its own
 * user runs the child as that same user.
 */
import { execFileSync } from 'node:child_process';
import { PasserelleError } from '../core/errors.js';

export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
}

/** undefined: run as this process's user (not root). Throws when root and the user is missing or is root. */
export function resolveRunAs(name: string, euid = process.geteuid?.() ?? -1): RunAs | undefined {
  if (euid !== 0) return undefined;
  const uid = idOf(name, '-u');
  const gid = idOf(name, '-g');
  if (uid === 0 || gid === 0)
    throw new PasserelleError('E_NODERED_RUNAS', `nodered.runAs ${name} is root or in group root: Node-RED never runs with root rights; name an unprivileged user`);
  return { uid, gid, name };
}

function idOf(name: string, flag: '-u' | '-g'): number {
  try {
    return Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    throw new PasserelleError(
      'E_NODERED_RUNAS',
      `user ${name} (nodered.runAs) does not exist: the gateway runs as root and never runs flows as root; create it (useradd --system --no-create-home ${name}) or name another unprivileged user`,
    );
  }
}
