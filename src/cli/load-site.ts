/** CLI side of site loading: a command that must stop says why and with which exit code. */
export { knownProfiles, lineBudgetWarnings, loadSite, loadSiteConfig, type Site } from '../gateway/load-site.js';

export { CliExit } from './cli-exit.js';
