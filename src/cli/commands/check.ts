import { formatIssue, loadConfigFile, validateConfigRefs } from '../../config/index.js';
import { loadProfiles } from '../../profiles/index.js';

/** `passerelle check FILE`: 0 and "FILE: ok", or 1 and every problem as FILE:LINE:COL field: message. */
export async function checkCommand(file: string): Promise<number> {
  const result = await loadConfigFile(file);
  const issues = result.ok ? validateConfigRefs(result.config, new Set(loadProfiles().keys())) : result.errors;
  if (issues.length === 0) {
    process.stdout.write(`${file}: ok\n`);
    return 0;
  }
  for (const issue of issues) process.stderr.write(`${formatIssue(issue)}\n`);
  process.stderr.write(`${file}: ${issues.length} problem${issues.length > 1 ? 's' : ''}\n`);
  return 1;
}
