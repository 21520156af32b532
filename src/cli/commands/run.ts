import { formatIssue } from '../../config/index.js';
import { createLogger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import { Gateway } from '../../gateway/gateway.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import { notifierFromEnv, startWatchdog, statusLine, watchdogIntervalMs } from '../../gateway/sd-notify.js';
import { lineBudgetWarnings, loadSite } from '../load-site.js';

/**
 * `passerelle run --config FILE`: the gateway in production, structured logs on stdout. Under a
 * `Type=notify` unit: READY once every Modbus device has had its first poll cycle, WATCHDOG while the
 * gateway makes progress, STOPPING on SIGTERM (src/gateway/sd-notify.ts).
 */
export async function runCommand(file: string, logLevel: string): Promise<void> {
  const site = await loadSite(file);
  const { config, profiles } = site;
  const logger = createLogger(logLevel);
  for (const w of lineBudgetWarnings(site)) logger.warn({ at: formatIssue(w) }, w.message);
  if (config.remote) {
    // Signed remote pushes: the agent decides which config runs (docs/remote-config.md).
    const { startRemoteGateway } = await import('../../gateway/remote.js');
    const remote = await startRemoteGateway(file, config.remote, config.gateway.id, profiles, logger);
    stopOnSignals(() => remote.stop(), (msg) => logger.info(msg));
    return;
  }
  const gateway = new Gateway({ config, profiles, logger });
  const notifier = notifierFromEnv(process.env, undefined, (e) => logger.warn({ err: errorMessage(e) }, 'systemd notification failed'));
  let stopWatchdog = () => undefined as void;
  stopOnSignals(
    async () => {
      stopWatchdog();
      notifier?.send({ STOPPING: '1', STATUS: 'stopping: flushing and closing' });
      await gateway.stop();
      await notifier?.idle();
    },
    (msg) => logger.info(msg),
  );
  await gateway.start();
  if (!notifier) return;
  await gateway.firstCycle();
  notifier.send({ READY: '1', STATUS: statusLine(gateway.statusLine()) });
  const interval = watchdogIntervalMs(process.env);
  if (interval) stopWatchdog = startWatchdog(notifier, interval, { stalled: () => gateway.stalled(), status: () => gateway.statusLine() }, (why) => logger.error({ why }, 'no progress: watchdog ping withheld'));
}
