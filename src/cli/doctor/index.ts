/**
 * `passerelle doctor`: every check a technician would do by hand on site, in order from the runtime to
 * the broker, each PASS / WARN / FAIL with a one-line fix. A check that cannot run is a FAIL of that check;
 * the doctor itself goes on. Checks that need a valid config are skipped (and said) without one.
 */
import { formatIssue } from '../../config/index.js';
import { loadSiteConfig } from '../../gateway/load-site.js';
import { listSerialAdapters, type SerialAdapter } from '../commands/ports.js';
import { brokerFindings } from './broker-checks.js';
import { deviceFindings, TIC_LISTEN_MS } from './device-checks.js';
import { clockFindings, fileFindings, storeFindings } from './host-checks.js';
import { runtimeFindings } from './runtime-checks.js';
import { serialFindings } from './serial-checks.js';
import { fail, guarded, pass, type Finding } from './verdict.js';

export interface DoctorOptions {
  /** For tests: the adapters sysfs would list. */
  readonly adapters?: readonly SerialAdapter[];
  readonly ticListenMs?: number;
  /** For tests: the service account whose access to the ports is judged (null: this process's). */
  readonly gatewayUser?: { name: string; uid: number; gids: readonly number[] } | null;
}

/** The packaged service account (deploy/package/sysusers.conf), when the doctor runs as root and it exists. */
export const SERVICE_USER = 'passerelle';

async function serviceAccount(): Promise<{ name: string; uid: number; gids: number[] } | undefined> {
  if (process.geteuid?.() !== 0) return undefined;
  try {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const id = (args: string[]) => promisify(execFile)('id', [...args, SERVICE_USER], { timeout: 3000 }).then((r) => r.stdout.trim());
    const [uid, gids] = await Promise.all([id(['-u']), id(['-G'])]);
    return { name: SERVICE_USER, uid: Number(uid), gids: gids.split(/\s+/).map(Number) };
  } catch {
    return undefined; // no such account: a development machine
  }
}

export async function diagnose(configFile: string | undefined, opts: DoctorOptions = {}): Promise<Finding[]> {
  const findings: Finding[] = [];
  if (!configFile) {
    return [...(await runtimeFindings('chacha20')), ...(await clockFindings()), pass('config', 'no --config given: only the runtime and the clock were checked')];
  }
  const { result, profiles } = await loadSiteConfig(configFile);
  if (!result.ok) {
    const shown = result.errors.slice(0, 5).map(formatIssue).join('; ');
    const more = result.errors.length > 5 ? ` (and ${result.errors.length - 5} more)` : '';
    return [
      ...(await runtimeFindings('chacha20')),
      ...(await clockFindings()),
      fail('config.valid', `${result.errors.length} problem(s): ${shown}${more}`, `passerelle check ${configFile} lists them with their lines; the other checks need a valid config`),
    ];
  }
  const config = result.config;
  findings.push(...(await runtimeFindings(config.store.cipher)));
  findings.push(pass('config.valid', `${configFile}: valid${result.warnings.length ? ` (${result.warnings.length} warning(s): passerelle check shows them)` : ''}`));
  findings.push(...(await guarded('config.files', () => fileFindings(configFile, config), 'check the file paths of the config')));
  findings.push(...(await clockFindings()));
  findings.push(...(await storeFindings(config)));
  const serial = serialFindings(config, opts.adapters ?? listSerialAdapters(), opts.gatewayUser === undefined ? await serviceAccount() : (opts.gatewayUser ?? undefined));
  findings.push(...serial.findings);
  findings.push(...(await deviceFindings(config, profiles, serial.broken, opts.ticListenMs ?? TIC_LISTEN_MS)));
  findings.push(...(await guarded('broker', () => brokerFindings(config), 'check uplink.broker')));
  return findings;
}
