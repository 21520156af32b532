/**
 * Loads hardware/profiles/*.yaml. Every error names the file, line, column and field
 * (`FILE:LINE:COL field.path: message`) so a technician can fix the YAML without reading code.
 * Profiles are validated once, checked for mistakes the schema cannot see, and frozen.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { PasserelleError } from '../core/errors.js';
import { profileSchema, type Profile } from './schema.js';
import { registersFor } from './registers.js';

export { registersFor } from './registers.js';

type Path = readonly (string | number)[];
export interface Problem {
  path: Path;
  message: string;
  /** Point at this key of the object at `path` (unknown keys), rather than at its value. */
  key?: string;
}

/** The folder holding package.json, found from this file so it works from src/ (tsx) and dist/ (build). */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new PasserelleError('E_PROFILE_ROOT', `no package.json above ${from}`);
  }
}

export const defaultProfileDir = (): string => join(packageRoot(), 'hardware', 'profiles');

/** Loads and validates every *.yaml / *.yml profile of a folder, keyed by id (= file name). */
export function loadProfiles(dir: string = defaultProfileDir()): Map<string, Profile> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (e) {
    throw new PasserelleError('E_PROFILE_DIR', `cannot read the profile folder ${dir}`, false, { cause: e });
  }
  const profiles = new Map<string, Profile>();
  for (const name of names) {
    const profile = loadProfileFile(join(dir, name));
    profiles.set(profile.id, profile);
  }
  return profiles;
}

const cache = new Map<string, Map<string, Profile>>();

/** A profile by id, from the given folder (default hardware/profiles), loaded once per folder. */
export function getProfile(id: string, dir: string = defaultProfileDir()): Profile {
  const key = resolve(dir);
  let profiles = cache.get(key);
  if (!profiles) {
    profiles = loadProfiles(key);
    cache.set(key, profiles);
  }
  const profile = profiles.get(id);
  if (!profile) {
    const known = [...profiles.keys()].join(', ') || 'none';
    throw new PasserelleError('E_PROFILE_UNKNOWN', `unknown hardware profile "${id}" in ${key} (known: ${known})`);
  }
  return profile;
}

/** One problem in a profile file, at the line and column to edit. */
export interface ProfileIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Field path ("points.3.address"), "(document)" for the whole file, "(file)" when it cannot be read. */
  readonly field: string;
  readonly message: string;
}

export const formatProfileIssue = (i: ProfileIssue): string =>
  i.field === '(yaml)' ? `${i.file}:${i.line}:${i.col} ${i.message}` : `${i.file}:${i.line}:${i.col} ${i.field}: ${i.message}`;

/** Parses and validates one profile file: the frozen profile, or every problem (the same as `loadProfileFile` throws). */
/** `given`: the file's text when it is not on disk yet (a remote bundle checked before it is staged). */
export function checkProfileFile(file: string, given?: string): { profile?: Profile; issues: ProfileIssue[]; locateId?: () => { line: number; col: number } } {
  let text: string;
  try {
    text = given ?? readFileSync(file, 'utf8');
  } catch (e) {
    return { issues: [{ file, line: 1, col: 1, field: '(file)', message: `cannot read the profile: ${(e as Error).message}` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => ({ file, ...lineCounter.linePos(e.pos[0]), field: '(yaml)', message: e.message.split('\n')[0]! }));
    return { issues };
  }
  const parsed = profileSchema.safeParse(doc.toJS());
  const problems: Problem[] = parsed.success
    ? crossChecks(parsed.data, basename(file).replace(/\.ya?ml$/, ''))
    : parsed.error.issues.flatMap(issueToProblems);
  const issues = problems.map((p) => ({
    file,
    ...locate(doc, lineCounter, p.path, p.key),
    field: [...p.path, ...(p.key ? [p.key] : [])].join('.') || '(document)',
    message: p.message,
  }));
  if (!parsed.success || issues.length > 0) return { issues };
  return { profile: deepFreeze(parsed.data), issues: [], locateId: () => locate(doc, lineCounter, ['id']) };
}

/** Parses, validates and freezes one profile file. */
export function loadProfileFile(file: string): Profile {
  const { profile, issues } = checkProfileFile(file);
  if (!profile) throw new PasserelleError(issues[0]?.field === '(yaml)' ? 'E_PROFILE_YAML' : 'E_PROFILE_INVALID', issues.map(formatProfileIssue).join('\n'));
  return profile;
}

export function issueToProblems(issue: { path: PropertyKey[]; message: string; code: string; keys?: string[] }): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return issue.keys.map((key) => ({ path, key, message: 'unknown field (a typo?)' }));
  }
  return [{ path, message: issue.message }];
}

/** Mistakes the schema cannot see: id vs file name, duplicate names, registers used by two points. */
function crossChecks(profile: Profile, fileId: string): Problem[] {
  const problems: Problem[] = [];
  if (profile.id !== fileId) {
    problems.push({ path: ['id'], message: `id "${profile.id}" must equal the file name "${fileId}"` });
  }
  const names = new Map<string, number>();
  const owners = new Map<string, string>(); // "kind:address" -> point name
  profile.points.forEach((point, i) => {
    const first = names.get(point.name);
    if (first !== undefined) problems.push({ path: ['points', i, 'name'], message: `"${point.name}" is already point ${first}` });
    else names.set(point.name, i);
    if ((point.kind === 'coil' || point.kind === 'discrete') && point.type !== 'bool') {
      problems.push({ path: ['points', i, 'type'], message: `a ${point.kind} carries one bit: use type bool` });
    }
    for (let r = 0; r < registersFor(point.type); r++) {
      const slot = `${point.kind}:${point.address + r}`;
      const owner = owners.get(slot);
      if (owner) problems.push({ path: ['points', i, 'address'], message: `register ${point.address + r} is also used by "${owner}"` });
      else owners.set(slot, point.name);
    }
    if (point.address + registersFor(point.type) - 1 > 0xffff) {
      problems.push({ path: ['points', i, 'address'], message: `a ${point.type} at ${point.address} runs past register 65535` });
    }
  });
  return problems;
}

/** Line and column of the deepest node on the path that exists in the YAML (a missing field points at its parent). */
export function locate(doc: Document, lineCounter: LineCounter, path: Path, key?: string): { line: number; col: number } {
  let offset = doc.contents?.range?.[0] ?? 0;
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as Node | undefined;
    if (node?.range) {
      offset = node.range[0];
      if (key && depth === path.length && isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
        if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
      }
      break;
    }
  }
  return lineCounter.linePos(offset);
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
