/**
 * `passerelle profile check FILE` and `passerelle profile import --csv FILE [--out FILE]`: a site's own
 * device profiles (`profiles:` folders in the site config), checked with the same FILE:LINE:COL messages
 * as `check`, and started from a vendor's register table instead of typed by hand.
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { isText, readAtMost } from '../../core/bounded-read.js';
import { PasserelleError, errorMessage } from '../../core/errors.js';
import { checkProfileFile, defaultProfileDir, formatProfileIssue, loadProfiles, type ProfileIssue } from '../../profiles/index.js';
import { parseRegisterTable, pointName, type TablePoint } from '../../profiles/register-table.js';

/** A register table is a few kilobytes; a bigger file is the wrong one. */
const MAX_TABLE_BYTES = 1024 * 1024;

export function profileCheckCommand(file: string): number {
  const { profile, issues, locateId } = checkProfileFile(file);
  const all: ProfileIssue[] = [...issues];
  const shippedDir = defaultProfileDir();
  if (profile && resolve(dirname(file)) !== resolve(shippedDir) && loadProfiles(shippedDir).has(profile.id)) {
    const message = `id "${profile.id}" is already a shipped profile (${join(shippedDir, `${profile.id}.yaml`)}): a local profile adds a model, it cannot replace one; rename the file and its id`;
    all.push({ file, ...locateId!(), field: 'id', message });
  }
  if (all.length === 0) {
    process.stdout.write(`${file}: ok (${profile!.points.length} points)\n`);
    return 0;
  }
  for (const issue of all) process.stderr.write(`${formatProfileIssue(issue)}\n`);
  process.stderr.write(`${file}: ${all.length} problem${all.length > 1 ? 's' : ''}\n`);
  return 1;
}

export async function profileImportCommand(o: { csv: string; out?: string; id?: string }): Promise<number> {
  const read = await readAtMost(o.csv, MAX_TABLE_BYTES);
  if (read.overCap || !isText(read.bytes, read.overCap)) {
    throw new PasserelleError('E_CLI_USAGE', `${o.csv} is not a register table (${read.overCap ? `over ${MAX_TABLE_BYTES} bytes` : 'not text'})`);
  }
  const table = parseRegisterTable(read.bytes.toString('utf8'));
  const id = o.id ?? profileId(basename(o.out ?? o.csv).replace(/\.[^.]*$/, ''));
  if (!/^[a-z0-9-]+$/.test(id)) throw new PasserelleError('E_CLI_USAGE', `--id "${id}": use lowercase letters, digits and -`);
  const yaml = profileYaml(id, o.csv, table.points);
  if (o.out) {
    try {
      writeFileSync(o.out, yaml, { flag: 'wx', mode: 0o644 });
    } catch (e) {
      const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
      throw new PasserelleError('E_CLI_USAGE', exists ? `${o.out} exists: choose another --out (nothing is overwritten)` : `cannot write ${o.out}: ${errorMessage(e)}`);
    }
  } else process.stdout.write(yaml);
  for (const p of table.problems) process.stderr.write(`${o.csv}:${p.line}: ${p.message}\n`);
  const where = o.out ?? 'standard output';
  process.stderr.write(
    `${table.points.length} point${table.points.length === 1 ? '' : 's'} to ${where}${table.problems.length ? `, ${table.problems.length} row${table.problems.length === 1 ? '' : 's'} left out (above)` : ''}; complete it, then: passerelle profile check ${o.out ?? 'FILE'}\n`,
  );
  return table.problems.length > 0 || table.points.length === 0 ? 1 : 0;
}

const profileId = (text: string): string => pointName(text).replace(/_/g, '-') || 'imported';

/** The profile as YAML, with what the table cannot say left for the technician (class first: it drives the policy). */
export function profileYaml(id: string, source: string, points: readonly TablePoint[]): string {
  const body = {
    id,
    manufacturer: 'TO COMPLETE',
    model: 'TO COMPLETE',
    defaults: {},
    points: points.map(({ line: _line, ...p }) => p),
  };
  const header = [
    `# Imported from ${basename(source)} by passerelle profile import. To complete before use:`,
    '# - manufacturer, model, defaults (baud, parity, stopBits, unit) and limits from the manual;',
    '# - class: of every point (energy, environment, comfort, occupancy...): the site policy decides on it;',
    '# - range: (and quality:) where the manual gives them;',
    '# - addresses: this file holds wire (0-based) addresses; a manual listing 40001-style or 1-based',
    '#   register numbers needs 1 (or 40001) taken off each.',
    `# The file name must be ${id}.yaml. Then: passerelle profile check ${id}.yaml`,
  ];
  return `${header.join('\n')}\n${stringify(body, { lineWidth: 0 })}`;
}
