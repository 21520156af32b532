/** Reads the uplink's secrets from their files. Values never reach a log line. */
import { readFileSync } from 'node:fs';
import { PasserelleError } from '../core/errors.js';
import { readSecretFile } from '../core/secret-file.js';
import type { UplinkConfig } from '../config/schema.js';

export interface UplinkSecrets {
  username?: string;
  password?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** A password or a PEM private key is a few kilobytes at most; a bigger file is a wrong path. */
const SECRET_MAX_BYTES = 64 * 1024;

/** Certificates are public: only their presence matters. */
function readPublic(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    throw new PasserelleError('E_UPLINK_FILE', `uplink ${what} file ${path}: ${why}`);
  }
}

/** The password and the client key are checked like the store key: no link, the gateway's user or root, mode 0600 or 0400. */
function readPrivate(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  const content = readSecretFile(path, { what: `uplink ${what} file`, maxBytes: SECRET_MAX_BYTES, codes: { perms: 'E_UPLINK_PERMS' } });
  if (!content) throw new PasserelleError('E_UPLINK_FILE', `uplink ${what} file ${path}: file not found`);
  return content;
}

export function readUplinkSecrets(uplink: UplinkConfig): UplinkSecrets {
  return {
    username: readPublic(uplink.usernameFile, 'username')?.toString('utf8').trim(),
    password: readPrivate(uplink.passwordFile, 'password')?.toString('utf8').trim(),
    ca: readPublic(uplink.caFile, 'CA certificate'),
    cert: readPublic(uplink.certFile, 'client certificate'),
    key: readPrivate(uplink.keyFile, 'client key'),
  };
}
