import { createInterface } from 'node:readline/promises';
import { eraseLocalData } from '../../store/erase.js';
import { loadSite } from '../../gateway/load-site.js';
import { CliExit } from '../cli-exit.js';

export interface EraseCommandOptions {
  /** Skip the confirmation (scripts). Without it and without a terminal, erase refuses. */
  readonly yes: boolean;
}

/**
 * `passerelle erase --config FILE [--yes]`: wipes the store, its write-ahead log and journal, and the
 * key. Irreversible: asks the technician to type the site id unless --yes.
 */
export async function eraseCommand(configFile: string, opts: EraseCommandOptions): Promise<void> {
  const { config } = await loadSite(configFile);
  if (!opts.yes) await confirm(config.site.id, config.store.path);
  const report = await eraseLocalData(config);
  for (const file of report.erased) process.stdout.write(`erased ${file.path} (${file.bytes} bytes overwritten)\n`);
  if (report.erased.length === 0 && report.refused.length === 0) process.stdout.write('nothing to erase: no local data found\n');
  if (report.credentialKept) {
    process.stdout.write(
      `the key came from the systemd credential ${report.credentialKept}: remove its encrypted source ` +
        `(LoadCredentialEncrypted= in the unit) to finish\n`,
    );
  }
  if (report.refused.length > 0) {
    const lines = report.refused.map((r) => `not erased: ${r.reason}`);
    throw new CliExit(1, [...lines, 'passerelle erase: some files were left untouched (see above); check them, then run again'].join('\n'));
  }
}

async function confirm(siteId: string, path: string): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new CliExit(1, 'passerelle erase: no terminal to confirm on; stop the gateway, then run again with --yes');
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      `This wipes ALL local data of site "${siteId}" (${path}) and its key, irrecoverably.\n` +
        `Stop the gateway first. Type the site id to confirm: `,
    );
    if (answer.trim() !== siteId) throw new CliExit(1, 'passerelle erase: not confirmed; nothing was erased');
  } finally {
    rl.close();
  }
}
