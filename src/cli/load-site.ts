/** CLI side of site loading: a command that must stop says why and with which exit code. */
export { knownProfiles, lineBudgetWarnings, loadSite, loadSiteConfig, type Site } from '../gateway/load-site.js';

export class CliExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}
