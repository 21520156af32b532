/** A command that must stop says why and with which exit code (apart from load-site.ts, which loads the config schemas). */
export class CliExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}
