import { existsSync } from 'node:fs';
import { configIssueAt, formatIssue, type Config, type ConfigIssue } from '../../config/index.js';
import { noderedPaths } from '../../nodered/paths.js';
import { lineBudgetWarnings, loadSiteConfig } from '../load-site.js';

/**
 * `passerelle check FILE`: 0 and "FILE: ok", or 1 and every problem as FILE:LINE:COL field: message.
 * The line budget's warnings (poll shorter than a cycle, line over budget) are printed, the exit stays 0:
 * `run` logs the same ones and runs.
 */
export async function checkCommand(file: string): Promise<number> {
  const { result, profiles } = await loadSiteConfig(file);
  if (result.ok) {
    const warnings = [
      ...result.warnings,
      ...[...lineBudgetWarnings({ config: result.config, profiles }), ...noderedWarnings(result.config, file)].map((w) => ({ ...w, message: `warning: ${w.message}` })),
    ];
    for (const w of warnings) process.stderr.write(`${formatIssue(w)}\n`);
    const note = warnings.length === 0 ? '' : ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''})`;
    process.stdout.write(`${file}: ok${note}\n`);
    return 0;
  }
  for (const issue of result.errors) process.stderr.write(`${formatIssue(issue)}\n`);
  process.stderr.write(`${file}: ${result.errors.length} problem${result.errors.length > 1 ? 's' : ''}\n`);
  return 1;
}

/** Node-RED configured but no editor password yet: `run` starts no Node-RED, and says so. */
function noderedWarnings(config: Config, file: string): ConfigIssue[] {
  if (!config.nodered?.enabled) return [];
  const { passwordFile } = noderedPaths(config.nodered);
  if (existsSync(passwordFile)) return [];
  return [configIssueAt(config, ['nodered'], `no Node-RED editor password is set (${passwordFile}): Node-RED does not start until \`passerelle nodered passwd --config ${file}\` sets one`)];
}
