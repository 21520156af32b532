import { formatIssue } from '../../config/index.js';
import { createLogger } from '../../core/logger.js';
import { Gateway } from '../../gateway/gateway.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import { lineBudgetWarnings, loadSite } from '../load-site.js';

/** `passerelle run --config FILE`: the gateway in production, structured logs on stdout. */
export async function runCommand(file: string, logLevel: string): Promise<void> {
  const site = await loadSite(file);
  const { config, profiles } = site;
  const logger = createLogger(logLevel);
  for (const w of lineBudgetWarnings(site)) logger.warn({ at: formatIssue(w) }, w.message);
  const gateway = new Gateway({ config, profiles, logger });
  await gateway.start();
  stopOnSignals(() => gateway.stop(), (msg) => logger.info(msg));
}
