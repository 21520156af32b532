#!/usr/bin/env node
/**
 * The `passerelle` command. Each subcommand lives in commands/; this file only parses arguments. A
 * command's module is imported when it runs: a gateway (`run`) never loads the demo's broker, the
 * simulators or the other commands (memory on the board).
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { errorMessage, isPasserelleError } from '../core/errors.js';
import { addSerialSimulateOptions } from './commands/simulate-options.js';
import { CliExit } from './cli-exit.js';
import { ConfigRejected } from '../gateway/config-rejected.js';

/**
 * The commands registered from their own modules, which import what their actions use (decoders, the
 * planner, the doctor's checks...). A gateway (`passerelle run`) neither shows nor runs them: it does not
 * load them, and keeps that code out of its memory for as long as it runs.
 */
const others = process.argv[2] === 'run' ? undefined : await loadOtherCommands();

async function loadOtherCommands() {
  const [decode, plan, read, scan, ports, fleet, profile, doctor, report] = await Promise.all([
    import('./commands/decode.js'),
    import('./commands/plan.js'),
    import('./commands/read.js'),
    import('./commands/scan.js'),
    import('./commands/ports.js'),
    import('./commands/fleet-commands.js'),
    import('./commands/profile.js'),
    import('./commands/doctor.js'),
    import('./commands/report.js'),
  ]);
  return { ...decode, ...plan, ...read, ...scan, ...ports, ...fleet, ...profile, ...doctor, ...report };
}

const logLevel = () =>
  new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info');

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('passerelle')
  .version(version, '-V, --version', 'print the version')
  // `passerelle --version` only before a command: `fleet trust --version 1` is that command's own option.
  .enablePositionalOptions()
  .description('Edge gateway: Modbus and serial sensors to minimal, policy-checked MQTT summaries')
  .showHelpAfterError();

program
  .command('run')
  .description('run the gateway for a site')
  .requiredOption('-c, --config <file>', 'site configuration (YAML)')
  .addOption(logLevel())
  .action(async (o: { config: string; logLevel: string }) => (await import('./commands/run.js')).runCommand(o.config, o.logLevel));

program
  .command('check')
  .description('validate a site configuration; prints FILE:LINE:COL field: message for each problem')
  .argument('<file>', 'site configuration (YAML)')
  .action(async (file: string) => {
    process.exitCode = await (await import('./commands/check.js')).checkCommand(file);
  });

program
  .command('schema')
  .description('print the JSON Schema of the site configuration (for editors)')
  .action(async () => {
    process.stdout.write((await import('../config/index.js')).renderConfigJsonSchema());
  });

addSerialSimulateOptions(
  program
    .command('simulate')
    .description(
      'simulate a device: a Modbus profile over TCP, or a serial one (linky-tic-standard, linky-tic-historique, sdi12-soil, line-demo, or an M-Bus meter such as kamstrup-multical-601) on a pty',
    )
    .requiredOption('--profile <id>', 'profile id, e.g. eastron-sdm630 or linky-tic-standard')
    .option('--tcp <host:port>', 'serve Modbus TCP here, e.g. 127.0.0.1:5020')
    .option('--unit <n>', 'unit id (default: the profile default)')
    .addOption(logLevel()),
).action(async (o) => (await import('./commands/simulate.js')).simulateCommand(o));

others?.registerDecodeCommand(program);

program
  .command('demo')
  .description('run the demo site: simulators, an embedded broker and the gateway')
  .option('-c, --config <file>', 'demo site configuration', 'config/demo.yaml')
  .addOption(logLevel().default('warn'))
  .action(async (o: { config: string; logLevel: string }) => (await import('../demo/demo.js')).demoCommand(o.config, o.logLevel));

others?.registerPlanCommand(program);
others?.registerScanCommand(program);
others?.registerReadCommand(program);
others?.registerPortsCommand(program);
others?.registerFleetCommands(program);
others?.registerProfileCommands(program);
others?.registerDoctorCommand(program);

const nodered = program.command('nodered').description('the Node-RED editor on this gateway (docs/node-red.md)');
nodered
  .command('passwd')
  .description('set the editor password (bcrypt hash, 0600); no editor runs until it is set')
  .option('-c, --config <file>', 'site configuration (YAML)', '/etc/passerelle/site.yaml')
  .option('--stdin', 'read the password from the first line of standard input', false)
  .action(async (o: { config: string; stdin: boolean }) => (await import('./commands/nodered.js')).noderedPasswdCommand(o));
nodered
  .command('prepare')
  .description('root step of passerelle-nodered.service: write what the flows user needs (exit 0 start, 1 nothing to start, 255 refused)')
  .option('-c, --config <file>', 'site configuration (YAML)', '/etc/passerelle/site.yaml')
  .action(async (o: { config: string }) => (await import('./commands/nodered.js')).noderedPrepareCommand(o));
others?.registerReportCommand(program);

const keys = program.command('keys').description('manage the store key');
keys
  .command('rotate')
  .description('re-key the store in place with a fresh key (stop the gateway first)')
  .requiredOption('-c, --config <file>', 'site configuration (YAML)')
  .action(async (o: { config: string }) => (await import('./commands/keys.js')).keysRotateCommand(o.config));

program
  .command('erase')
  .description('wipe all local data and the store key, irrecoverably (stop the gateway first)')
  .requiredOption('-c, --config <file>', 'site configuration (YAML)')
  .option('--yes', 'do not ask for confirmation', false)
  .action(async (o: { config: string; yes: boolean }) => (await import('./commands/erase.js')).eraseCommand(o.config, { yes: o.yes }));

/**
 * Exit codes, the same for every command (README, "Exit codes"): 0 done; 1 what it was given is wrong
 * (options, a config, a capture) or what it found is incomplete; 2 what it works with failed (a port, a
 * device, the broker, the store); 70 a bug; 130 a second Ctrl-C.
 */
const EXIT_INPUT = 1;
const EXIT_OUTSIDE = 2;
const EXIT_BUG = 70;
const INPUT_ERRORS = new Set(['E_CLI_USAGE', 'E_CLI_IDS', 'E_CLI_ADDRESS', 'E_CONFIG', 'E_REPORT_DATE']);

program.parseAsync().catch((e: unknown) => {
  if (e instanceof CliExit || e instanceof ConfigRejected) {
    process.stderr.write(`${e.message}\n`);
    process.exit(e instanceof CliExit ? e.exitCode : EXIT_INPUT);
  }
  const code = isPasserelleError(e) ? `${e.code}: ` : '';
  process.stderr.write(`passerelle: ${code}${errorMessage(e)}\n`);
  // A system error (a file named on the command line that is missing, a refused permission) is the
  // outside's, not a bug: only what has neither a Passerelle code nor a system code is exit 70.
  const systemError = typeof (e as { syscall?: unknown }).syscall === 'string';
  process.exit(isPasserelleError(e) ? (INPUT_ERRORS.has(e.code) ? EXIT_INPUT : EXIT_OUTSIDE) : systemError ? EXIT_OUTSIDE : EXIT_BUG);
});
