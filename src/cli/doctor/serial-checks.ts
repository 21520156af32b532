/** Each configured serial port: there, a serial device, ours to open; the adapter behind it set up right. */
import { realpathSync, statSync } from 'node:fs';
import type { Config } from '../../config/index.js';
import { serialPathProblem, type SerialOpenCode } from '../../bus/serial-errors.js';
import { indistinguishable, type SerialAdapter } from '../commands/ports.js';
import { fail, pass, warn, type Finding } from './verdict.js';

const FIX: Record<SerialOpenCode, string> = {
  E_SERIAL_NOT_FOUND: 'plug the adapter in, or correct the port (passerelle ports lists them)',
  E_SERIAL_PERMISSION: "add the gateway's user to the dialout group (usermod -aG dialout passerelle)",
  E_SERIAL_BUSY: 'stop the other program holding the port (fuser -v PORT)',
  E_SERIAL_NOT_TTY: 'point the bus at the serial device (passerelle ports lists them)',
  E_SERIAL_OPEN: 'check the adapter (dmesg | tail)',
};

/** FTDI adapters deliver bytes every 16 ms by default: a Modbus reply then arrives late and in pieces. */
const FTDI_LATENCY_MS = 1;

/** Findings per serial bus, and the ids of the buses whose port cannot be used (their devices are not probed). */
/**
 * `gatewayUser`: the service account and its group ids, when the doctor runs as root (a technician with
 * sudo): the port must be open to that account, not to root, who may open anything.
 */
export function serialFindings(
  config: Config,
  adapters: readonly SerialAdapter[],
  gatewayUser?: { name: string; uid: number; gids: readonly number[] },
): { findings: Finding[]; broken: Set<string> } {
  const findings: Finding[] = [];
  const broken = new Set<string>();
  for (const bus of config.buses) {
    if (bus.type !== 'serial') continue;
    const check = `serial.port:${bus.id}`;
    const problem = serialPathProblem(bus.port);
    if (problem) {
      broken.add(bus.id);
      findings.push(fail(check, `${problem.code}: ${problem.message}`, FIX[problem.code]));
      continue;
    }
    const denied = gatewayUser && !openTo(bus.port, gatewayUser);
    if (denied) {
      broken.add(bus.id);
      findings.push(fail(check, `${bus.port} is not readable and writable by the gateway's user ${gatewayUser.name}`, `add ${gatewayUser.name} to the port's group (usermod -aG dialout ${gatewayUser.name}), or install the udev rules`));
      continue;
    }
    findings.push(pass(check, `${bus.port}: a character device, readable and writable${gatewayUser ? ` by ${gatewayUser.name}` : ''}`));
    const adapter = adapterOf(bus.port, adapters);
    if (adapter?.driver === 'ftdi_sio' && adapter.latencyMs !== undefined && adapter.latencyMs > FTDI_LATENCY_MS) {
      findings.push(
        warn(`serial.latency:${bus.id}`, `FTDI latency timer of ${adapter.device} is ${adapter.latencyMs} ms`, 'install deploy/udev/60-passerelle.rules (sets it to 1 ms), then replug the adapter'),
      );
    }
  }
  for (const group of indistinguishable(adapters)) {
    findings.push(
      warn(
        'serial.adapters',
        `${group.map((a) => a.device).join(', ')} have the same vendor, product and serial number: their /dev/serial/by-id names collide`,
        'name them by USB socket (/dev/passerelle/ names of the udev rules, by physical port) and keep each in its socket',
      ),
    );
  }
  return { findings, broken };
}

function adapterOf(port: string, adapters: readonly SerialAdapter[]): SerialAdapter | undefined {
  let real: string;
  try {
    real = realpathSync(port);
  } catch {
    return undefined;
  }
  return adapters.find((a) => a.device === real);
}

/** Read and write permission for `user` from the mode bits (root can always open it; the service cannot). */
function openTo(port: string, user: { uid: number; gids: readonly number[] }): boolean {
  const s = statSync(port);
  const rw = (shift: number) => ((s.mode >> shift) & 0o6) === 0o6;
  if (s.uid === user.uid) return rw(6);
  if (user.gids.includes(s.gid)) return rw(3);
  return rw(0);
}
