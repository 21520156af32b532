/** A config that does not validate, apart from the loader so that catching it loads no schema. */
import { PasserelleError } from '../core/errors.js';

/** The message is the list of FILE:LINE:COL lines. */
export class ConfigRejected extends PasserelleError {
  constructor(readonly lines: readonly string[]) {
    super('E_CONFIG', lines.join('\n'));
  }
}
