/**
 * The options of `simulate` and the HOST:PORT parser, apart from the simulators themselves, so that
 * registering the command (or `scan`) does not load them: a gateway never does.
 */
import type { Command } from 'commander';
import { PasserelleError } from '../../core/errors.js';

export const SERIAL_SIM_PROFILES = ['linky-tic-standard', 'linky-tic-historique', 'sdi12-soil', 'line-demo'] as const;
export type SerialSimProfile = (typeof SERIAL_SIM_PROFILES)[number];
export const isSerialSimProfile = (id: string): id is SerialSimProfile => (SERIAL_SIM_PROFILES as readonly string[]).includes(id);

/** The extra options of `simulate` for serial profiles; the lead adds them to the existing command. */
export function addSerialSimulateOptions(cmd: Command): Command {
  return cmd
    .option('--pty', `serial profiles (${SERIAL_SIM_PROFILES.join(', ')}): create a pty pair and print the path to connect to`)
    .option('--port <path>', 'serial profiles: write to this existing serial port instead of a pty')
    .option('--noise <p>', 'serial profiles: probability of a noise burst before a frame/line (0-1)')
    .option('--cut-frames <p>', 'serial profiles: probability that a frame/reply/line is cut short (0-1)')
    .option('--bad-checksums <p>', 'serial profiles: probability of a corrupted checksum/CRC/value (0-1)')
    .option('--seed <n>', 'serial profiles: seed of the fault generator, to replay a run')
    .option('--silence <p>', 'M-Bus profiles: probability that the meter does not answer (0-1)')
    .option('--mbus-address <n>', 'M-Bus profiles: primary address of the simulated meter (default 1; 0 for secondary addressing only)');
}

export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 0 || port > 65535) throw new PasserelleError('E_CLI_ADDRESS', `"${text}" is not HOST:PORT (e.g. 127.0.0.1:5020)`);
  return { host: m[1]!, port };
}
