import { createLogger } from '../../core/logger.js';
import { Gateway } from '../../gateway/gateway.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import { loadSite } from '../load-site.js';

/** `passerelle run --config FILE`: the gateway in production, structured logs on stdout. */
export async function runCommand(file: string, logLevel: string): Promise<void> {
  const { config, profiles } = await loadSite(file);
  const logger = createLogger(logLevel);
  const gateway = new Gateway({ config, profiles, logger });
  await gateway.start();
  stopOnSignals(() => gateway.stop(), (msg) => logger.info(msg));
}
