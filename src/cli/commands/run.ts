import { createLogger } from '../../core/logger.js';
import { loadDriverModules } from '../../gateway/driver-modules.js';
import { Gateway } from '../../gateway/gateway.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import type { GatewayRuntime } from '../../gateway/remote.js';
import { serviceNotifications } from '../../gateway/service-notify.js';
import type { RemoteAgent } from '../../remote/agent.js';
import { loadSiteInChild } from '../../gateway/site-in-child.js';

/**
 * `passerelle run --config FILE`: the gateway in production, structured logs on stdout. Under a
 * `Type=notify` unit: READY once every Modbus device has had its first poll cycle, WATCHDOG while the
 * gateway makes progress, STOPPING on SIGTERM (src/gateway/service-notify.ts); under remote
 * configuration the same for whichever config runs, STATUS saying when a config is on trial.
 */
export async function runCommand(file: string, logLevel: string): Promise<void> {
  // In a child process: the schemas that check a config stay out of a running gateway's memory.
  const { config, profiles, warnings } = await loadSiteInChild(file);
  const logger = createLogger(logLevel);
  for (const w of warnings) logger.warn({ at: w.at }, w.message);
  if (config.remote) {
    // Signed remote pushes: the agent decides which config runs (docs/remote-config.md).
    const { startRemoteGateway } = await import('../../gateway/remote.js');
    let runtime: GatewayRuntime | undefined;
    let agent: RemoteAgent | undefined;
    const service = serviceNotifications(process.env, { gateway: () => runtime?.running, note: () => trialNote(agent) }, logger);
    const remote = await startRemoteGateway(file, config.remote, config.gateway.id, profiles, logger, (r, a) => {
      runtime = r;
      agent = a;
      if (r.running) service?.started(r.running);
    });
    stopOnSignals(
      async () => {
        service?.stopping();
        await remote.stop();
        await service?.idle();
      },
      (msg) => logger.info(msg),
    );
    return;
  }
  await loadDriverModules(config);
  const gateway = new Gateway({ config, profiles, logger });
  const service = serviceNotifications(process.env, { gateway: () => gateway }, logger);
  stopOnSignals(
    async () => {
      service?.stopping();
      await gateway.stop();
      await service?.idle();
    },
    (msg) => logger.info(msg),
  );
  await gateway.start();
  service?.started(gateway);
}

/** STATUS during a remote config trial says so: a restart or a rollback then reads as expected. */
function trialNote(agent: RemoteAgent | undefined): string | undefined {
  const status = agent?.status();
  if (status?.state !== 'trial') return undefined;
  const { seq, source } = status.running;
  return `config trial (${seq === null ? `${source} file` : `seq ${seq}`})`;
}
