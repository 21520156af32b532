/** Loads and checks a site config plus the profiles it names; prints every problem as FILE:LINE:COL. */
import { formatIssue, loadConfigFile, type Config, type KnownProfiles } from '../config/index.js';
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

/** Profile ids with their point names, so a device's `points` are checked with line numbers too. */
export const knownProfiles = (profiles: ReadonlyMap<string, Profile>): KnownProfiles =>
  new Map([...profiles].map(([id, p]) => [id, p.points.map((x) => x.name)]));

export async function loadSite(file: string): Promise<Site> {
  const profiles = loadProfiles();
  const result = await loadConfigFile(file, { knownProfiles: knownProfiles(profiles) });
  if (!result.ok) throw new CliExit(1, result.errors.map(formatIssue).join('\n'));
  return { config: result.config, profiles };
}
