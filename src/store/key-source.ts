import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the store key comes from. A systemd credential wins when the unit provides one
 * (`LoadCredentialEncrypted=passerelle-store-key:...`): systemd decrypts it into a private, read-only
 * directory named by $CREDENTIALS_DIRECTORY, so the key never sits in clear on the data partition.
 * Otherwise the key file of the config, created on first start.
 */
export type KeySource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'credential'; readonly path: string };

export const CREDENTIAL_NAME = 'passerelle-store-key';

export function resolveKeySource(keyFile: string, env: NodeJS.ProcessEnv = process.env): KeySource {
  const dir = env.CREDENTIALS_DIRECTORY;
  if (dir) {
    const path = join(dir, CREDENTIAL_NAME);
    if (existsSync(path)) return { kind: 'credential', path };
  }
  return { kind: 'file', path: keyFile };
}

/** The new key during `keys rotate`: it exists only between the start of a rotation and its end. */
export const nextKeyPath = (keyFile: string): string => `${keyFile}.next`;
