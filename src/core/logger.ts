import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout. Secrets never reach here: callers log paths, never key material. */
export function createLogger(level = 'info', name = 'passerelle'): Logger {
  return pino({ name, level, base: { name } });
}

export const silentLogger = (): Logger => pino({ level: 'silent' });
