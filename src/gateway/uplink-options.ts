/** Reads the uplink's secrets from their files. Values never reach a log line. */
import { readFileSync } from 'node:fs';
import { PasserelleError } from '../core/errors.js';
import type { UplinkConfig } from '../config/schema.js';

export interface UplinkSecrets {
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readSecret(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new PasserelleError('E_UPLINK_FILE', `uplink ${what} file ${path}: ${why}`);
  }
}

export function readUplinkSecrets(uplink: UplinkConfig): UplinkSecrets {
  return {
    username: readSecret(uplink.usernameFile, 'username')?.toString('utf8').trim(),
    password: readSecret(uplink.passwordFile, 'password')?.toString('utf8').trim(),
    ca: readSecret(uplink.caFile, 'CA certificate'),
    cert: readSecret(uplink.certFile, 'client certificate'),
    key: readSecret(uplink.keyFile, 'client key'),
  };
}
