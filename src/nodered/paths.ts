/**
 * Where Node-RED's files live under `nodered.dir`. The directory itself and the files at its top
 * (settings, password hash, credential key) belong to the gateway; only `user/` (flows, credentials,
 * sessions, library) belongs to the flows user, so a flow can never rewrite its own settings.
 */
import { join, resolve } from 'node:path';
import type { NoderedConfig } from '../config/schema.js';

export interface NodeRedPaths {
  readonly dir: string;
  /** Generated at each start from the config; edits are lost. */
  readonly settingsFile: string;
  /** bcrypt hash of the editor password, written by `passerelle nodered passwd` (0600). */
  readonly passwordFile: string;
  /** 32 random bytes the credentialSecret is derived from (0600); back it up with the flows. */
  readonly credentialKeyFile: string;
  /** Node-RED's userDir: owned by the flows user. */
  readonly userDir: string;
  /** Absolute, so neither the working directory nor the hostname changes which file is read. */
  readonly flowFile: string;
  readonly socket: string;
}

export function noderedPaths(config: Pick<NoderedConfig, 'dir' | 'socket'>): NodeRedPaths {
  const dir = resolve(config.dir);
  const userDir = join(dir, 'user');
  return {
    dir,
    settingsFile: join(dir, 'settings.cjs'),
    passwordFile: join(dir, 'admin.bcrypt'),
    credentialKeyFile: join(dir, 'credential.key'),
    userDir,
    flowFile: join(userDir, 'flows.json'),
    socket: resolve(config.socket),
  };
}
