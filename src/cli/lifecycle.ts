/**
 * SIGINT/SIGTERM: stop in order within a budget. A second signal, or a stop that overruns the
 * budget, exits at once (the outbox is on disk, so nothing acknowledged is lost by that).
 */
export const STOP_BUDGET_MS = 4500;

export function stopOnSignals(stop: () => Promise<void>, log: (msg: string) => void = () => undefined): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: stopping`);
    const force = setTimeout(() => {
      log(`stop took longer than ${STOP_BUDGET_MS} ms: exiting`);
      process.exit(1);
    }, STOP_BUDGET_MS);
    force.unref();
    stop().then(
      () => process.exit(0),
      (e: unknown) => {
        log(`stop failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
