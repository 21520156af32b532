/**
 * SIGINT/SIGTERM: stop in order within a budget. A second signal, or a stop that overruns the
 * budget, exits at once (the outbox is on disk, so nothing acknowledged is lost by that).
 */
export const STOP_BUDGET_MS = 4500;
const DUPLICATE_SIGNAL_MS = 1000;

export function stopOnSignals(stop: () => Promise<void>, log: (msg: string) => void = () => undefined): void {
  let stoppingSince = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // Wrappers (npm, tsx) may relay the same Ctrl-C a moment later: only a deliberate second one forces.
    if (stoppingSince && Date.now() - stoppingSince < DUPLICATE_SIGNAL_MS) return;
    if (stoppingSince) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stoppingSince = Date.now();
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
