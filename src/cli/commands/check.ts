import { formatIssue, loadConfigFile } from '../../config/index.js';
import { loadMbusProfiles, loadProfiles } from '../../profiles/index.js';
import { knownProfiles } from '../load-site.js';

/** `passerelle check FILE`: 0 and "FILE: ok", or 1 and every problem as FILE:LINE:COL field: message. */
export async function checkCommand(file: string): Promise<number> {
  const result = await loadConfigFile(file, { knownProfiles: knownProfiles(loadProfiles(), loadMbusProfiles()) });
  if (result.ok) {
    process.stdout.write(`${file}: ok\n`);
    return 0;
  }
  for (const issue of result.errors) process.stderr.write(`${formatIssue(issue)}\n`);
  process.stderr.write(`${file}: ${result.errors.length} problem${result.errors.length > 1 ? 's' : ''}\n`);
  return 1;
}
