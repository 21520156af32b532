/** Loads and checks a site config plus the profiles it names; prints every problem as FILE:LINE:COL. */
import { formatIssue, loadConfigFile, validateConfigRefs, type Config } from '../config/index.js';
import { loadProfiles, type Profile } from '../profiles/index.js';

export interface Site {
  readonly config: Config;
  readonly profiles: Map<string, Profile>;
}

export class CliExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

export async function loadSite(file: string): Promise<Site> {
  const profiles = loadProfiles();
  const result = await loadConfigFile(file);
  if (!result.ok) throw new CliExit(1, result.errors.map(formatIssue).join('\n'));
  const refIssues = validateConfigRefs(result.config, new Set(profiles.keys()));
  if (refIssues.length > 0) throw new CliExit(1, refIssues.map(formatIssue).join('\n'));
  return { config: result.config, profiles };
}
