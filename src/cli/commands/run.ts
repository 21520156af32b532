import { createLogger } from '../../core/logger.js';
import { Gateway } from '../../gateway/gateway.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import { loadSite } from '../load-site.js';

/** `passerelle run --config FILE`: the gateway in production, structured logs on stdout. */
export async function runCommand(file: string, logLevel: string): Promise<void> {
  const { config, profiles } = await loadSite(file);
  const logger = createLogger(logLevel);
  if (config.remote) {
    // Signed remote pushes: the agent decides which config runs (docs/remote-config.md).
    const { startRemoteGateway } = await import('../../gateway/remote.js');
    const remote = await startRemoteGateway(file, config.remote, config.gateway.id, profiles, logger);
    stopOnSignals(() => remote.stop(), (msg) => logger.info(msg));
    return;
  }
  const gateway = new Gateway({ config, profiles, logger });
  await gateway.start();
  stopOnSignals(() => gateway.stop(), (msg) => logger.info(msg));
}
