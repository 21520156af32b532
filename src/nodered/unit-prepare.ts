/**
 * The root step of the packaged passerelle-nodered.service (`ExecCondition=+passerelle nodered prepare`):
 * with `supervisor: systemd`, Node-RED runs as its own unit, as passerelle-flows, which cannot read the
 * site config (root:passerelle 0640), the store, its key or the serial ports. This step, as root, writes
 * what that user needs from the config (settings.cjs root:passerelle-flows 0640, its userDir) and the
 * unit's environment (the heap cap), then says whether the unit starts. Answers in ExecCondition='s
 * terms: 0 start, 1 nothing to start (the unit is skipped, not failed), 255 refused (the unit fails).
 */
import { join } from 'node:path';
import type { NoderedConfig } from '../config/schema.js';
import { atomicRootFile, prepareNodeRed } from './start.js';

export const UNIT_START = 0;
export const UNIT_SKIP = 1;
export const UNIT_REFUSED = 255;

/** Read by systemd (EnvironmentFile=) for ExecStart's ${NODERED_HEAP_MB}; root's, 0600. */
export const unitEnvFile = (dir: string): string => join(dir, 'unit.env');

export interface UnitDecision {
  readonly code: typeof UNIT_START | typeof UNIT_SKIP | typeof UNIT_REFUSED;
  readonly message: string;
}

export function prepareForUnit(config: NoderedConfig | undefined, euid = process.geteuid?.() ?? -1): UnitDecision {
  if (!config) return { code: UNIT_SKIP, message: 'no nodered: section in the site config: Node-RED is off' };
  if (!config.enabled) return { code: UNIT_SKIP, message: 'nodered.enabled is false: Node-RED is off' };
  if (config.supervisor !== 'systemd')
    return { code: UNIT_SKIP, message: 'nodered.supervisor is gateway: the gateway runs Node-RED itself; set supervisor: systemd to run it in passerelle-nodered.service' };
  if (euid !== 0) return { code: UNIT_REFUSED, message: 'passerelle nodered prepare runs as root (the unit runs it with ExecCondition=+): it reads the site config and hands Node-RED only its own files' };
  const prepared = prepareNodeRed(config);
  if (!prepared.ok) return { code: prepared.status === 'no-password' ? UNIT_SKIP : UNIT_REFUSED, message: prepared.reason };
  if (!prepared.runAs) return { code: UNIT_REFUSED, message: 'no flows user resolved' };
  try {
    atomicRootFile(unitEnvFile(prepared.paths.dir), `# Written by passerelle nodered prepare from the site config.\nNODERED_HEAP_MB=${config.maxOldSpaceMB}\n`);
  } catch (e) {
    return { code: UNIT_REFUSED, message: `Node-RED not started: ${(e as Error).message}` };
  }
  return { code: UNIT_START, message: `Node-RED prepared for ${prepared.runAs.name} in ${prepared.paths.dir} (heap ${config.maxOldSpaceMB} MB); editor at ${prepared.url}` };
}
