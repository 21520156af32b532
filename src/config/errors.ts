/**
 * A configuration problem, pinned to the line and column a technician has to edit.
 * One shape for YAML syntax errors, schema errors and cross-reference errors.
 */
import { PasserelleError } from '../core/errors.js';

export interface ConfigIssue {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** Field path in "buses[0].baud" style; "(root)" for the whole document, "(file)" for I/O problems. */
  path: string;
  message: string;
}

export type ConfigPath = readonly (string | number)[];

export const ROOT_PATH = '(root)';
export const FILE_PATH = '(file)';

/** ["buses", 0, "baud"] -> "buses[0].baud". Keys that are not plain identifiers are quoted. */
export function formatPath(path: ConfigPath): string {
  if (path.length === 0) return ROOT_PATH;
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** FILE:LINE:COL field.path: message — the shape editors and CI annotators recognise. */
export const formatIssue = (i: ConfigIssue): string => `${i.file}:${i.line}:${i.col} ${i.path}: ${i.message}`;

/** For callers that want to throw: one error carrying every issue, one per line. */
export function configError(issues: readonly ConfigIssue[]): PasserelleError {
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  return new PasserelleError('E_CONFIG', `invalid configuration (${count}):\n${issues.map(formatIssue).join('\n')}`);
}
