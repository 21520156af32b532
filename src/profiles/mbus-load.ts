/**
 * Loads M-Bus meter profiles (hardware/profiles/mbus/*.yaml) with the same FILE:LINE:COL errors as
 * the Modbus profiles, plus the checks the schema cannot make: units that convert, identifier records
 * kept in class identifier, unique names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { PasserelleError } from '../core/errors.js';
import { MBUS_QUANTITIES } from './mbus-quantities.js';
import { mbusProfileSchema, type MbusProfile } from './mbus-schema.js';
import { mbusUnitFactor } from './mbus-units.js';
import { deepFreeze, defaultProfileDir, issueToProblems, locate, type Problem } from './load.js';

export const defaultMbusProfileDir = (): string => join(defaultProfileDir(), 'mbus');

export function loadMbusProfiles(dir: string = defaultMbusProfileDir()): Map<string, MbusProfile> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (e) {
    throw new PasserelleError('E_PROFILE_DIR', `cannot read the M-Bus profile folder ${dir}`, false, { cause: e });
  }
  return new Map(names.map((n) => loadMbusProfileFile(join(dir, n))).map((p) => [p.id, p]));
}

const cache = new Map<string, Map<string, MbusProfile>>();

export function getMbusProfile(id: string, dir: string = defaultMbusProfileDir()): MbusProfile {
  const key = resolve(dir);
  let profiles = cache.get(key);
  if (!profiles) cache.set(key, (profiles = loadMbusProfiles(key)));
  const profile = profiles.get(id);
  if (!profile) throw new PasserelleError('E_PROFILE_UNKNOWN', `unknown M-Bus profile "${id}" in ${key} (known: ${[...profiles.keys()].join(', ') || 'none'})`);
  return profile;
}

export function loadMbusProfileFile(file: string): MbusProfile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new PasserelleError('E_PROFILE_YAML', doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${file}:${pos.line}:${pos.col} ${e.message.split('\n')[0]}`;
    }).join('\n'));
  }
  const parsed = mbusProfileSchema.safeParse(doc.toJS());
  const problems: Problem[] = parsed.success ? crossChecks(parsed.data, basename(file).replace(/\.ya?ml$/, '')) : parsed.error.issues.flatMap(issueToProblems);
  if (problems.length > 0 || !parsed.success) {
    throw new PasserelleError('E_PROFILE_INVALID', problems.map((p) => {
      const { line, col } = locate(doc, lineCounter, p.path, p.key);
      return `${file}:${line}:${col} ${[...p.path, ...(p.key ? [p.key] : [])].join('.') || '(document)'}: ${p.message}`;
    }).join('\n'));
  }
  return deepFreeze(parsed.data);
}

function crossChecks(profile: MbusProfile, fileId: string): Problem[] {
  const problems: Problem[] = [];
  if (profile.id !== fileId) problems.push({ path: ['id'], message: `id "${profile.id}" must equal the file name "${fileId}"` });
  if (!profile.generic && profile.points.length === 0) problems.push({ path: ['points'], message: 'a meter profile maps at least one record (or says generic: true)' });
  const names = new Map<string, number>();
  profile.points.forEach((p, i) => {
    const first = names.get(p.name);
    if (first !== undefined) problems.push({ path: ['points', i, 'name'], message: `"${p.name}" is already point ${first}` });
    names.set(p.name, i);
    const factor = mbusUnitFactor(p.record.quantity, p.unit);
    if (typeof factor === 'string') problems.push({ path: ['points', i, 'unit'], message: factor });
    if (MBUS_QUANTITIES[p.record.quantity].dataClass === 'identifier' && p.class !== 'identifier') {
      problems.push({ path: ['points', i, 'class'], message: `a ${p.record.quantity} record identifies the meter or its customer: class identifier` });
    }
    if ((p.record.plainText !== undefined) !== (p.record.quantity === 'plain_text')) {
      problems.push({ path: ['points', i, 'record'], message: 'plainText goes with quantity plain_text, and only with it' });
    }
  });
  return problems;
}
