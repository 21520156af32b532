/**
 * Test-only entry: registers `decode` and a `simulate` carrying the serial options on a bare program,
 * reporting errors as src/cli/main.ts does, so tests run them as a user would before main.ts wires them.
 * Usage: npx tsx tests/serial/cli/run-serial-cli.ts decode --protocol tic capture.bin
 */
import { Command } from 'commander';
import { errorMessage, isPasserelleError } from '../../../src/core/errors.js';
import { registerDecodeCommand } from '../../../src/cli/commands/decode.js';
import { addSerialSimulateOptions, simulateSerialCommand, type SimulateSerialOptions } from '../../../src/cli/commands/simulate-serial.js';

const program = new Command().name('passerelle').showHelpAfterError();
registerDecodeCommand(program);
addSerialSimulateOptions(program.command('simulate').requiredOption('--profile <id>', 'profile id')).action((o: SimulateSerialOptions) => simulateSerialCommand(o));

program.parseAsync().catch((e: unknown) => {
  const code = isPasserelleError(e) ? `${e.code}: ` : '';
  process.stderr.write(`passerelle: ${code}${errorMessage(e)}\n`);
  process.exit(isPasserelleError(e) ? 2 : 70);
});
