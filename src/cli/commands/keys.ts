import { createLogger } from '../../core/logger.js';
import { rotateStoreKey } from '../../store/rotate.js';
import { loadSite } from '../../gateway/load-site.js';

/**
 * `passerelle keys rotate --config FILE`: re-keys the store in place with a fresh key. The gateway must
 * be stopped; a crash midway leaves a store that the next start opens (docs/store.md).
 */
export async function keysRotateCommand(configFile: string): Promise<void> {
  const { config } = await loadSite(configFile);
  const logger = createLogger('warn');
  const report = rotateStoreKey({ path: config.store.path, keyFile: config.store.keyFile, cipher: config.store.cipher, logger });
  process.stdout.write(
    `store ${report.path} re-keyed in ${report.durationMs} ms; new key in ${report.keyFile}. ` +
      `Replace any backup of the old key file: it no longer opens this store.\n`,
  );
}
