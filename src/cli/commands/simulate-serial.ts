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
import { loadMbusProfiles, type MbusProfile } from '../../profiles/index.js';
import { stopOnSignals } from '../../gateway/lifecycle.js';
import { processOutput, type CommandOutput } from './plan.js';

import { isSerialSimProfile, SERIAL_SIM_PROFILES, type SerialSimProfile } from './simulate-options.js';

export { addSerialSimulateOptions, isSerialSimProfile, SERIAL_SIM_PROFILES, type SerialSimProfile } from './simulate-options.js';
/** M-Bus meter profiles (hardware/profiles/mbus) are simulated on a pty too. */
export const isMbusSimProfile = (id: string): boolean => loadMbusProfiles().has(id);

export interface SimulateSerialOptions {
  readonly profile: string;
  readonly pty?: boolean;
  /** Write to this existing port instead of a pty (e.g. a null-modem cable). */
  readonly port?: string;
  readonly noise?: string;
  readonly cutFrames?: string;
  readonly badChecksums?: string;
  readonly seed?: string;
  /** M-Bus: probability that the meter does not answer a request. */
  readonly silence?: string;
  /** M-Bus: the meter's primary address (default 1; 0: secondary addressing only). */
  readonly mbusAddress?: string;
}

export interface SerialSimulation {
  /** What the gateway opens: the pty's gateway side, or the --port given. */
  readonly connectTo: string;
  stop(): Promise<void>;
}


/** Starts the simulation and returns it; simulateSerialCommand adds the Ctrl-C handling. */
export async function startSerialSimulation(opts: SimulateSerialOptions, out: CommandOutput = processOutput): Promise<SerialSimulation> {
  const mbus = isMbusSimProfile(opts.profile) ? loadMbusProfiles().get(opts.profile) : undefined;
  const profile = opts.profile;
  if (!mbus && !isSerialSimProfile(profile)) throw new PasserelleError('E_CLI_USAGE', `"${profile}" is not a serial profile (${[...SERIAL_SIM_PROFILES, ...loadMbusProfiles().keys()].join(', ')})`);
  if (!opts.pty === !opts.port) throw new PasserelleError('E_CLI_USAGE', 'say where the device is: --pty (a new pty pair) or --port PATH');
  if (mbus || !isSerialSimProfile(profile)) return startMbusSimulation(mbus!, opts, out);
  const faults = faultsOf(opts);
  const seed = opts.seed === undefined ? 1 : integer(opts.seed, '--seed');
  const pair: PtyPair | undefined = opts.pty ? await createPtyPair() : undefined;
  const devicePath = pair?.b ?? opts.port!;
  const connectTo = pair?.a ?? opts.port!;
  try {
    const sim = await startProfile(profile, devicePath, faults, seed);
    out.stdout(`${describe(profile)}: connect the gateway to ${connectTo}\n${configHint(profile, connectTo)}`);
    return running(connectTo, sim, pair);
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
  // The labels this simulator sends: listing them keeps summaries to what the meter has.
  const device = tic
    ? `  - { id: linky, bus: sim, protocol: tic, tic: ${profile === 'linky-tic-standard' ? '{ mode: standard, labels: [EAST, SINSTS, SMAXSN, URMS1, IRMS1] }' : '{ mode: historique, labels: [BASE, PAPP, IINST] }'} }`
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

/** An M-Bus meter of a profile, answering on a pty at 2400 baud 8E1. */
async function startMbusSimulation(profile: MbusProfile, opts: SimulateSerialOptions, out: CommandOutput): Promise<SerialSimulation> {
  const seed = opts.seed === undefined ? 1 : integer(opts.seed, '--seed');
  const primary = opts.mbusAddress === undefined ? 1 : integer(opts.mbusAddress, '--mbus-address');
  if (primary < 0 || primary > 250) throw new PasserelleError('E_CLI_USAGE', `--mbus-address is 0-250, got ${primary}`);
  const silence = opts.silence === undefined ? undefined : Number(opts.silence);
  if (silence !== undefined && !(silence >= 0 && silence <= 1)) throw new PasserelleError('E_CLI_USAGE', `--silence must be a probability from 0 to 1, got "${opts.silence}"`);
  const pair: PtyPair | undefined = opts.pty ? await createPtyPair() : undefined;
  const connectTo = pair?.a ?? opts.port!;
  try {
    const { startMbusSimulator } = await import('../../sim/mbus.js'); // loaded only when an M-Bus meter is simulated
    const sim = await startMbusSimulator({ path: pair?.b ?? opts.port!, meters: [{ profile, primary }], faults: { ...faultsOf(opts), ...(silence !== undefined ? { silence } : {}) }, seed });
    const id = profile.sim?.id ?? '00000001';
    const address = primary === 0 ? `secondary: "${id}"` : `address: ${primary}`;
    out.stdout(
      `M-Bus ${profile.manufacturer} ${profile.model} (${profile.id}), id ${id}, primary address ${primary}, 2400 baud 8E1: connect the gateway to ${connectTo}\n` +
        `buses:\n  - { id: mbus, type: serial, port: ${connectTo}, baud: 2400, parity: even }\ndevices:\n` +
        `  - { id: meter, bus: mbus, protocol: mbus, profile: ${profile.id}, poll: 1m, mbus: { ${address} }${profile.generic ? ', points: [energy, power]' : ''} }\n`,
    );
    return running(connectTo, sim, pair);
  } catch (e) {
    await pair?.close();
    throw e;
  }
}

/** A started simulation: stopping it stops the simulator, then closes its pty pair (if it made one). */
function running(connectTo: string, sim: { stop(): Promise<void> }, pair: { close(): Promise<void> } | undefined): SerialSimulation {
  return {
    connectTo,
    stop: async () => {
      await sim.stop();
      await pair?.close();
    },
  };
}
