import { existsSync } from 'node:fs';
import { configIssueAt, formatIssue, type Config, type ConfigIssue } from '../../config/index.js';
import { SYSTEMD_NODERED } from '../../config/schema.js';
import { noderedPaths } from '../../nodered/paths.js';
import { lineBudgetWarnings, loadSiteConfig } from '../../gateway/load-site.js';

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

/**
 * Node-RED configured but no editor password yet: `run` starts no Node-RED, and says so. With
 * supervisor: systemd, a heap larger than the packaged unit's memory limits are sized for.
 */
function noderedWarnings(config: Config, file: string): ConfigIssue[] {
  const nodered = config.nodered;
  if (!nodered?.enabled) return [];
  const warnings: ConfigIssue[] = [];
  const { passwordFile } = noderedPaths(nodered);
  if (!existsSync(passwordFile))
    warnings.push(configIssueAt(config, ['nodered'], `no Node-RED editor password is set (${passwordFile}): Node-RED does not start until \`passerelle nodered passwd --config ${file}\` sets one`));
  if (nodered.supervisor === 'systemd' && nodered.maxOldSpaceMB > SYSTEMD_NODERED.unitHeapMB) {
    const high = nodered.maxOldSpaceMB + 96;
    warnings.push(
      configIssueAt(
        config,
        ['nodered', 'maxOldSpaceMB'],
        `passerelle-nodered.service limits Node-RED's memory for a ${SYSTEMD_NODERED.unitHeapMB} MB heap: with ${nodered.maxOldSpaceMB} MB, raise them (systemctl edit passerelle-nodered: MemoryHigh=${high}M, MemoryMax=${high + 32}M) or V8 is stopped by the cgroup before it collects`,
      ),
    );
  }
  return warnings;
}
