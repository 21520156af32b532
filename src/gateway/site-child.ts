/**
 * The child process of `loadSiteInChild` (site-in-child.ts): loads and checks the site config named by
 * its argument with its profiles, sends back the validated site and its line budget warnings (or why it
 * was refused), and exits.
 */
import { formatIssue } from '../config/errors.js';
import { ConfigRejected } from './config-rejected.js';
import { lineBudgetWarnings, loadSite } from './load-site.js';
import type { SiteReply, ThrownError } from './site-in-child.js';

// The IPC channel closed after the reply: nothing else keeps this process alive.
process.send!(await reply(process.argv[2]!), () => process.disconnect());

async function reply(file: string): Promise<SiteReply> {
  try {
    const site = await loadSite(file);
    const warnings = lineBudgetWarnings(site).map((w) => ({ at: formatIssue(w), message: w.message }));
    return { ok: true, config: site.config, profiles: site.profiles, warnings };
  } catch (e) {
    return e instanceof ConfigRejected ? { ok: false, rejected: [...e.lines] } : { ok: false, error: thrown(e) };
  }
}

/** What the main thread needs to throw the same error: its code (PasserelleError or system error), message and stack. */
function thrown(e: unknown): ThrownError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const { code, syscall, errno, path, retryable } = e as Error & Partial<ThrownError>;
  return { name: e.name, message: e.message, stack: e.stack, code, syscall, errno, path, retryable };
}
