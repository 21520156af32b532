/**
 * `passerelle profile check FILE` and `passerelle profile import --csv FILE [--out FILE]`: a site's own
 * device profiles (`profiles:` folders in the site config). The work is in profile-actions.ts, loaded
 * when the command runs.
 */
import type { Command } from 'commander';

export function registerProfileCommands(program: Command): void {
  const profile = program.command('profile').description("a site's own device profiles: check one, or start one from a vendor's register table");
  profile
    .command('check')
    .description('validate a profile file; prints FILE:LINE:COL field: message for each problem')
    .argument('<file>', 'profile (YAML)')
    .action(async (file: string) => {
      process.exitCode = (await import('./profile-actions.js')).profileCheckCommand(file);
    });
  profile
    .command('import')
    .description("turn a vendor's register table (CSV: name, address, function/kind, type, word order, scale, unit) into a profile to complete")
    .requiredOption('--csv <file>', 'register table (CSV; `;` or `,` separated, French decimal comma accepted)')
    .option('--out <file>', 'write the profile here (refuses to overwrite); default: standard output')
    .option('--id <id>', 'profile id (default: from --out, else from the CSV file name)')
    .action(async (o: { csv: string; out?: string; id?: string }) => {
      process.exitCode = await (await import('./profile-actions.js')).profileImportCommand(o);
    });
}
