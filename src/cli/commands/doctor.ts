/**
 * `passerelle doctor [--config FILE] [--json]`: what is wrong with this gateway, each check PASS / WARN /
 * FAIL with a one-line fix; exit 0 all pass, 1 some warn, 2 some fail. The checks (src/cli/doctor) are
 * loaded when the command runs.
 */
import type { Command } from 'commander';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check the runtime, serial ports, devices, clock, store, files and broker; PASS/WARN/FAIL with a fix each (exit 0/1/2)')
    .option('-c, --config <file>', 'site configuration (YAML); without it only the runtime and clock are checked')
    .option('--json', 'print the findings as JSON', false)
    .action(async (o: { config?: string; json: boolean }) => {
      const { diagnose } = await import('../doctor/index.js');
      const { exitCodeOf, renderFindings } = await import('../doctor/verdict.js');
      const findings = await diagnose(o.config);
      process.stdout.write(o.json ? `${JSON.stringify({ findings, exitCode: exitCodeOf(findings) })}\n` : renderFindings(findings));
      process.exitCode = exitCodeOf(findings);
    });
}
