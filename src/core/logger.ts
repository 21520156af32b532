import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout. Secrets never reach here: callers log paths, never key material. */
export function createLogger(level = 'info', name = 'passerelle'): Logger {
  return pino({ name, level, base: { name } });
}

export const silentLogger = (): Logger => pino({ level: 'silent' });

const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
const HIDDEN = new Set(['level', 'time', 'name', 'msg', 'pid', 'hostname']);

/** One JSON log line as a short line a person reads: "warn  store: message (key=value ...)". */
export function humanLogLine(json: string): string {
  try {
    const entry = JSON.parse(json) as Record<string, unknown>;
    const part = [entry.part, entry.bus, entry.device].filter(Boolean).join('/');
    const extras = Object.entries(entry)
      .filter(([k]) => !HIDDEN.has(k) && !['part', 'bus', 'device'].includes(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    const level = (LEVEL_NAMES[entry.level as number] ?? 'log').padEnd(5);
    return `  ${level} ${part ? `${part}: ` : ''}${String(entry.msg ?? '')}${extras.length ? ` (${extras.join(', ')})` : ''}`;
  } catch {
    return json;
  }
}

/** For the demo and technicians' tools: readable lines on stderr instead of JSON. */
export function createHumanLogger(level = 'warn'): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) process.stderr.write(`${humanLogLine(line)}\n`);
      done();
    },
  });
  return pino({ level, base: undefined }, stream);
}
