import { PasserelleError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { getProfile } from '../../profiles/index.js';
import { startModbusTcpSimulator } from '../../sim/modbus-tcp.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import { isSerialSimProfile, parseHostPort } from './simulate-options.js';
import { isMbusSimProfile, simulateSerialCommand, type SimulateSerialOptions } from './simulate-serial.js';

export interface SimulateOptions extends SimulateSerialOptions {
  profile: string;
  tcp?: string;
  unit?: string;
  logLevel: string;
}

export { parseHostPort } from './simulate-options.js';

/** `passerelle simulate --profile ID --tcp HOST:PORT`: a Modbus device that serves plausible values. */
export async function simulateCommand(opts: SimulateOptions): Promise<void> {
  if (isSerialSimProfile(opts.profile) || isMbusSimProfile(opts.profile)) return simulateSerialCommand(opts);
  const profile = getProfile(opts.profile);
  if (!opts.tcp) throw new PasserelleError('E_CLI_USAGE', 'say where to listen: --tcp HOST:PORT');
  const { host, port } = parseHostPort(opts.tcp);
  const unit = opts.unit === undefined ? (profile.defaults.unit ?? 1) : Number(opts.unit);
  const logger = createLogger(opts.logLevel);
  const sim = await startModbusTcpSimulator({ host, port, devices: [{ unit, profile }], logger });
  process.stdout.write(`simulating ${profile.manufacturer} ${profile.model} (${profile.id}) as unit ${unit} on ${sim.host}:${sim.port}\n`);
  stopOnSignals(() => sim.close());
}
