/**
 * Errors carry a stable code a program can match, a message a technician understands,
 * and whether retrying may help.
 */
export class PasserelleError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PasserelleError';
  }
}

export const isPasserelleError = (e: unknown): e is PasserelleError => e instanceof PasserelleError;

/** Message of any thrown value, without stack noise. */
export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
