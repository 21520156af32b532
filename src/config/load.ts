/**
 * Loads a site configuration: YAML -> schema -> cross-references. Every problem is reported at once,
 * each pinned to the line and column to edit. A valid config comes back deeply frozen: it is
 * validated once at start and never changed at runtime (runtime state lives elsewhere).
 */
import { dirname, resolve } from 'node:path';
import { isText, readAtMost, type BoundedRead } from '../core/bounded-read.js';
import { errorMessage } from '../core/errors.js';
import { FILE_PATH, formatPath, ROOT_PATH, type ConfigIssue, type ConfigPath } from './errors.js';
import { explainZodIssue, pinIssue, type RawIssue } from './messages.js';
import { crossCheck, type KnownProfiles } from './refs.js';
import { isRecord } from './schema-walk.js';
import { configWarnings } from './warnings.js';
import { configSchema, type Config } from './schema.js';
import { ConfigSource } from './yaml-source.js';

/** A valid config may still carry warnings: choices the file makes knowingly that weaken it (allowPlaintext). */
export type ConfigResult = { ok: true; config: Config; warnings: ConfigIssue[] } | { ok: false; errors: ConfigIssue[] };

export interface LoadOptions {
  /**
   * Profile ids from hardware/profiles; when given, a device naming another profile is an error.
   * A Map id -> point names also checks each device's `points` and `writable`.
   */
  knownProfiles?: KnownProfiles;
  /**
   * The profile library once the site's own folders (`profiles:`, resolved against the config's folder)
   * are known: replaces `knownProfiles`; its problems are reported with the config's.
   */
  profileLibrary?: (localDirs: readonly string[]) => { known: KnownProfiles; issues: readonly LocalProfileIssue[] };
}

/** A problem of a site-local profile folder (`dir` indexes `profiles:`), or of a file in it (`at`). */
export interface LocalProfileIssue {
  readonly dir: number;
  readonly at?: { file: string; line: number; col: number; field: string };
  readonly message: string;
}

/** A site config is a few kilobytes; a bigger file is a wrong path (a log, a database), refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Where each loaded config came from, so later checks (profiles) can still point at lines. */
const sourceOf = new WeakMap<Config, ConfigSource>();

export function loadConfigText(text: string, file: string, options: LoadOptions = {}): ConfigResult {
  const source = new ConfigSource(text, file);
  const yamlIssues = source.yamlIssues();
  // After a syntax error the structure is a guess; schema messages on it would mislead.
  if (source.hasSyntaxErrors()) return { ok: false, errors: yamlIssues };

  let data: unknown;
  try {
    data = source.data();
  } catch (e) {
    return { ok: false, errors: [{ file, line: 1, col: 1, path: ROOT_PATH, message: `cannot expand YAML aliases: ${errorMessage(e)}` }] };
  }

  const parsed = configSchema.safeParse(data);
  const schemaIssues = parsed.success ? [] : parsed.error.issues.flatMap((issue) => explainZodIssue(configSchema, issue, data));
  const library = options.profileLibrary?.(profileDirs(data, file));
  const known = library?.known ?? options.knownProfiles;
  const libraryIssues = (library?.issues ?? []).map((i) =>
    i.at ? { file: i.at.file, line: i.at.line, col: i.at.col, path: i.at.field, message: i.message } : pinIssue(source, { path: ['profiles', i.dir], message: i.message }),
  );
  const errors = [...yamlIssues, ...pinAll(source, withoutRepeats(schemaIssues, crossCheck(data, known))), ...libraryIssues];
  if (!parsed.success || errors.length > 0) return { ok: false, errors: errors.sort(byPosition) };

  const config = deepFreeze(parsed.data);
  sourceOf.set(config, source);
  return { ok: true, config, warnings: pinAll(source, configWarnings(config)) };
}

export async function loadConfigFile(file: string, options: LoadOptions = {}): Promise<ConfigResult> {
  let read: BoundedRead;
  try {
    read = await readAtMost(file, MAX_CONFIG_BYTES);
  } catch (e) {
    return fileProblem(file, `cannot read the file: ${errorMessage(e)}`);
  }
  // Binary first: /dev/urandom is both, and "not a text file" is what the technician needs to hear.
  if (!isText(read.bytes, read.overCap)) return fileProblem(file, 'not a text file (a site config is YAML text; wrong file?)');
  if (read.overCap) return fileProblem(file, `file is over ${MAX_CONFIG_BYTES} bytes; a site config is at most that, usually a few kilobytes (wrong file?)`);
  return loadConfigText(read.bytes.toString('utf8'), file, options);
}

/**
 * Cross-reference checks on a config already validated (e.g. once the profiles are loaded). Issues point
 * at the original file when the config came from loadConfigText/loadConfigFile.
 */
export function validateConfigRefs(config: Config, knownProfiles?: KnownProfiles): ConfigIssue[] {
  const issues = crossCheck(config, knownProfiles);
  const source = sourceOf.get(config);
  if (source) return pinAll(source, issues);
  return issues.map((i) => ({ file: '(in memory)', line: 1, col: 1, path: formatPath(i.path), message: i.message }));
}

/** A problem found later (e.g. a warning of the line budget), pinned to `path` of a loaded config. */
export function configIssueAt(config: Config, path: ConfigPath, message: string): ConfigIssue {
  const source = sourceOf.get(config);
  if (source) return pinIssue(source, { path, message });
  return { file: '(in memory)', line: 1, col: 1, path: formatPath(path), message };
}

/** The `profiles:` folders as written, resolved against the config file's folder (anything malformed is the schema's). */
function profileDirs(data: unknown, file: string): string[] {
  const list = isRecord(data) ? data.profiles : undefined;
  if (!Array.isArray(list)) return [];
  return list.map((d) => (typeof d === 'string' && d !== '' ? resolve(dirname(file), d) : '')); // '' keeps the indices
}

const pinAll = (source: ConfigSource, issues: RawIssue[]): ConfigIssue[] => issues.map((issue) => pinIssue(source, issue));

/** A field the schema already rejected gets no second, derived complaint. */
function withoutRepeats(schemaIssues: RawIssue[], refIssues: RawIssue[]): RawIssue[] {
  const rejected = new Set(schemaIssues.map((i) => formatPath(i.path)));
  return [...schemaIssues, ...refIssues.filter((i) => !rejected.has(formatPath(i.path)))];
}

const byPosition = (a: ConfigIssue, b: ConfigIssue): number => a.line - b.line || a.col - b.col;

const fileProblem = (file: string, message: string): ConfigResult => ({ ok: false, errors: [{ file, line: 1, col: 1, path: FILE_PATH, message }] });

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
