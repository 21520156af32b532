/**
 * The child's stdout/stderr into our logger, one entry per line, bounded: a line longer than MAX_LINE
 * is cut, a partial line waits for at most MAX_LINE bytes, and beyond MAX_LINES_PER_MINUTE lines the
 * rest of that minute is counted, not logged (a flow logging in a loop must not fill the SD card).
 */
import type { Logger } from '../core/logger.js';

export const MAX_LINE = 2000;
export const MAX_LINES_PER_MINUTE = 120;

export class OutputLines {
  private partial = '';
  private minuteStart = Date.now();
  private linesThisMinute = 0;
  private dropped = 0;

  constructor(private readonly log: Logger) {}

  push(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop()!.slice(0, MAX_LINE);
    for (const line of lines) this.line(line);
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.reportDropped();
  }

  private line(text: string): void {
    const line = text.trimEnd().slice(0, MAX_LINE);
    if (!line) return;
    const now = Date.now();
    if (now - this.minuteStart >= 60_000) {
      this.reportDropped();
      this.minuteStart = now;
      this.linesThisMinute = 0;
    }
    if (++this.linesThisMinute > MAX_LINES_PER_MINUTE) {
      this.dropped += 1;
      return;
    }
    // Node-RED's console lines read "2 Dec 10:00:00 - [warn] ...".
    const level = /\[(error|fatal)\]/.test(line) ? 'error' : /\[warn\]/.test(line) ? 'warn' : 'info';
    this.log[level](line);
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.log.warn({ dropped: this.dropped }, `Node-RED output: ${this.dropped} lines not logged (over ${MAX_LINES_PER_MINUTE} a minute)`);
    this.dropped = 0;
  }
}
