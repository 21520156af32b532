/**
 * Node-RED encrypts flow credentials with `credentialSecret`. Left to itself it generates one into
 * user/.config.runtime.json, where a restore or a new SD card loses it (node-red#1611, #3596). Here it is
 * derived (HKDF-SHA-256) from a key of the gateway's own, kept next to the settings (0600, the gateway's
 * user): the same key gives the same secret on any hostname, and the flows user cannot change it.
 * Not the store key: `keys rotate` replaces that one, and credentials would no longer decrypt.
 */
import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { hkdfSync, randomBytes } from 'node:crypto';
import { PasserelleError } from '../core/errors.js';
import { readSecretFile } from '../core/secret-file.js';

const KEY_BYTES = 32;
const RULES = { what: 'Node-RED credential key file', maxBytes: 64 } as const;

/** Reads the key (creating it once, 0600, never over an existing file) and derives the secret. */
export function credentialSecret(keyFile: string): string {
  let key = readSecretFile(keyFile, RULES);
  if (key === undefined) {
    createKey(keyFile);
    key = readSecretFile(keyFile, RULES)!;
  }
  if (key.length !== KEY_BYTES) throw new PasserelleError('E_NODERED_KEY', `${keyFile} holds ${key.length} bytes, not a ${KEY_BYTES}-byte key; restore it from the backup`);
  const secret = Buffer.from(hkdfSync('sha256', key, 'passerelle', 'node-red credentialSecret v1', 32)).toString('hex');
  key.fill(0);
  return secret;
}

function createKey(keyFile: string): void {
  const fd = openSync(keyFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, randomBytes(KEY_BYTES));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
