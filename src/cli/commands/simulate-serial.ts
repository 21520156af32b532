/**
 * `passerelle simulate --profile linky-tic-standard|linky-tic-historique|sdi12-soil|line-demo --pty`:
 * a serial device on a fresh pty pair (or on --port), until Ctrl-C. It prints the path the gateway
 * must open and the config lines to paste. Line faults on request: --noise, --cut-frames, --bad-checksums.
 */
import { PasserelleError } from '../../core/errors.js';
import { createPtyPair, type PtyPair } from '../../sim/pty.js';
import type { SerialFaults } from '../../sim/serial-noise.js';
import { startTicSimulator } from '../../sim/tic.js';
import { soilProbeValues, startSdi12Simulator } from '../../sim/sdi12.js';
import { startLineSimulator } from '../../sim/line.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import { processOutput, type CommandOutput } from './plan.js';

import { isSerialSimProfile, SERIAL_SIM_PROFILES, type SerialSimProfile } from './simulate-options.js';

export { addSerialSimulateOptions, isSerialSimProfile, SERIAL_SIM_PROFILES, type SerialSimProfile } from './simulate-options.js';

export interface SimulateSerialOptions {
  readonly profile: string;
  readonly pty?: boolean;
  /** Write to this existing port instead of a pty (e.g. a null-modem cable). */
  readonly port?: string;
  readonly noise?: string;
  readonly cutFrames?: string;
  readonly badChecksums?: string;
  readonly seed?: string;
}

export interface SerialSimulation {
  /** What the gateway opens: the pty's gateway side, or the --port given. */
  readonly connectTo: string;
  stop(): Promise<void>;
}


/** Starts the simulation and returns it; simulateSerialCommand adds the Ctrl-C handling. */
export async function startSerialSimulation(opts: SimulateSerialOptions, out: CommandOutput = processOutput): Promise<SerialSimulation> {
  if (!isSerialSimProfile(opts.profile)) throw new PasserelleError('E_CLI_USAGE', `"${opts.profile}" is not a serial profile (${SERIAL_SIM_PROFILES.join(', ')})`);
  if (!opts.pty === !opts.port) throw new PasserelleError('E_CLI_USAGE', 'say where the device is: --pty (a new pty pair) or --port PATH');
  const faults = faultsOf(opts);
  const seed = opts.seed === undefined ? 1 : integer(opts.seed, '--seed');
  const pair: PtyPair | undefined = opts.pty ? await createPtyPair() : undefined;
  const devicePath = pair?.b ?? opts.port!;
  const connectTo = pair?.a ?? opts.port!;
  try {
    const sim = await startProfile(opts.profile, devicePath, faults, seed);
    out.stdout(`${describe(opts.profile)}: connect the gateway to ${connectTo}\n${configHint(opts.profile, connectTo)}`);
    return {
      connectTo,
      stop: async () => {
        await sim.stop();
        await pair?.close();
      },
    };
  } catch (e) {
    await pair?.close();
    throw e;
  }
}

/** `passerelle simulate --profile <serial profile> --pty`: runs until SIGINT/SIGTERM. */
export async function simulateSerialCommand(opts: SimulateSerialOptions, out: CommandOutput = processOutput): Promise<void> {
  const sim = await startSerialSimulation(opts, out);
  stopOnSignals(() => sim.stop(), (m) => out.stderr(`${m}\n`));
}

function startProfile(profile: SerialSimProfile, path: string, faults: SerialFaults, seed: number): Promise<{ stop(): Promise<void> }> {
  switch (profile) {
    case 'linky-tic-standard':
      return startTicSimulator({ path, mode: 'standard', faults, seed });
    case 'linky-tic-historique':
      return startTicSimulator({ path, mode: 'historique', faults, seed });
    case 'sdi12-soil':
      return startSdi12Simulator({ path, faults, seed, sensors: [{ address: '0', values: soilProbeValues, delaySeconds: 1 }] });
    case 'line-demo':
      return startLineSimulator({ path, faults, seed, intervalMs: 2000 });
  }
}

function describe(profile: SerialSimProfile): string {
  switch (profile) {
    case 'linky-tic-standard':
      return 'Linky TIC, standard mode (9600 baud 7E1, a frame about every second)';
    case 'linky-tic-historique':
      return 'Linky TIC, historique mode (1200 baud 7E1, a frame about every 1.5 s)';
    case 'sdi12-soil':
      return 'SDI-12 soil probe at address 0 (moisture %, temperature Cel) behind a serial adapter';
    case 'line-demo':
      return 'ASCII sensor printing T=21.4;H=45 every 2 s';
  }
}

/** The buses/devices lines to paste into a site config. */
function configHint(profile: SerialSimProfile, port: string): string {
  const tic = profile.startsWith('linky');
  const bus = tic || profile === 'sdi12-soil'
    ? `  - { id: sim, type: serial, port: ${port}, baud: ${profile === 'linky-tic-standard' ? 9600 : 1200}, dataBits: 7, parity: even }`
    : `  - { id: sim, type: serial, port: ${port}, baud: 9600 }`;
  const device = tic
    ? `  - { id: linky, bus: sim, protocol: tic, tic: { mode: auto } }`
    : profile === 'sdi12-soil'
      ? `  - { id: soil, bus: sim, protocol: sdi12, poll: 30s, sdi12: { address: "0", values: [{ name: moisture, unit: "%", class: environment }, { name: temperature, unit: Cel, class: environment }] } }`
      : `  - { id: thermo, bus: sim, protocol: line, line: { fields: { T: { unit: Cel, class: comfort }, H: { unit: "%RH", class: comfort } } } }`;
  return `buses:\n${bus}\ndevices:\n${device}\n`;
}

function faultsOf(o: SimulateSerialOptions): SerialFaults {
  const p = (text: string | undefined, flag: string): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!(text.trim() !== '' && n >= 0 && n <= 1)) throw new PasserelleError('E_CLI_USAGE', `${flag} must be a probability from 0 to 1, got "${text}"`);
    return n;
  };
  const faults = { noise: p(o.noise, '--noise'), cutFrames: p(o.cutFrames, '--cut-frames'), badChecksums: p(o.badChecksums, '--bad-checksums') };
  return Object.fromEntries(Object.entries(faults).filter(([, v]) => v !== undefined));
}

function integer(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) throw new PasserelleError('E_CLI_USAGE', `${flag} must be an integer, got "${text}"`);
  return n;
}
