/**
 * `passerelle nodered passwd [--config FILE] [--stdin]`: sets the Node-RED editor password. Only its
 * bcrypt hash is written, 0600, in nodered.dir; until then the gateway starts no editor at all.
 * Interactive: asked twice without echo. --stdin: the first line of standard input (scripts, tests).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { formatIssue, loadConfigFile } from '../../config/index.js';
import { hashPassword, passwordProblem, writeAdminHash } from '../../nodered/password.js';
import { noderedPaths } from '../../nodered/paths.js';
import { CliExit } from '../cli-exit.js';

export const DEFAULT_CONFIG = '/etc/passerelle/site.yaml';
/** A password line longer than this is not a password (a file piped by mistake). */
const MAX_LINE = 1024;

export async function noderedPasswdCommand(opts: { config: string; stdin: boolean }): Promise<void> {
  const result = await loadConfigFile(opts.config);
  if (!result.ok) throw new CliExit(1, result.errors.map(formatIssue).join('\n'));
  const nodered = result.config.nodered;
  if (!nodered) throw new CliExit(1, `${opts.config} has no nodered: section; add one (docs/node-red.md) before setting its password`);
  const password = opts.stdin ? await firstLine(process.stdin) : await askTwice();
  const problem = passwordProblem(password);
  if (problem) throw new CliExit(1, `password refused: ${problem}; choose another (at least 10 characters, not a published default)`);
  const paths = noderedPaths(nodered);
  mkdirSync(dirname(paths.dir), { recursive: true });
  mkdirSync(paths.dir, { recursive: true, mode: 0o750 });
  writeAdminHash(paths.passwordFile, hashPassword(password));
  process.stdout.write(
    `Node-RED password of ${nodered.user} set (bcrypt hash in ${paths.passwordFile}); restart the gateway to apply it ` +
      `(systemctl restart passerelle), then open ${nodered.tls ? 'https' : 'http'}://${nodered.host}:${nodered.port}/\n`,
  );
}

/**
 * `passerelle nodered prepare --config FILE`: the root step of passerelle-nodered.service (ExecCondition=+).
 * Exit 0: prepared, the unit starts Node-RED; 1: nothing to start (skipped, said why); 255: refused (the
 * unit fails, said why). Every failure is 255, even a config error: ExecCondition= reads 1-254 as "skip".
 */
export async function noderedPrepareCommand(opts: { config: string }): Promise<void> {
  let decision;
  try {
    const result = await loadConfigFile(opts.config);
    if (!result.ok) throw new Error(result.errors.map(formatIssue).join('\n'));
    const { prepareForUnit } = await import('../../nodered/unit-prepare.js');
    decision = prepareForUnit(result.config.nodered);
  } catch (e) {
    throw new CliExit(255, `passerelle nodered prepare: ${(e as Error).message}`);
  }
  if (decision.code !== 0) throw new CliExit(decision.code, `passerelle nodered prepare: ${decision.message}`);
  process.stdout.write(`${decision.message}\n`);
}

function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = () => {
      input.removeAllListeners('data');
      input.removeAllListeners('end');
      resolve(text.split(/\r?\n/)[0] ?? '');
    };
    input.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('\n')) done();
      else if (text.length > MAX_LINE) reject(new CliExit(1, `the first line of standard input is over ${MAX_LINE} characters: not a password`));
    });
    input.on('end', done);
    input.on('error', reject);
  });
}

async function askTwice(): Promise<string> {
  if (!process.stdin.isTTY) throw new CliExit(1, 'no terminal to ask the password on; pipe it with --stdin');
  const first = await ask('New Node-RED editor password: ');
  const second = await ask('Same password again: ');
  if (first !== second) throw new CliExit(1, 'the two passwords differ; nothing written');
  return first;
}

/** Reads one line without echoing it. */
function ask(prompt: string): Promise<string> {
  process.stdout.write(prompt);
  const muted = new Writable({ write: (_c, _e, cb) => cb() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) => {
    rl.once('line', (line) => {
      rl.close();
      process.stdout.write('\n');
      resolve(line);
    });
  });
}
