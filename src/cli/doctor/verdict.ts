/**
 * One line of `passerelle doctor`: what was checked, PASS / WARN / FAIL, what was seen, and the one-line
 * fix. The exit code is the worst verdict: 0 all pass, 1 some warn, 2 some fail.
 */
export type Verdict = 'pass' | 'warn' | 'fail';

export interface Finding {
  /** Stable id of the check, e.g. "serial.port:line1" (for --json readers and tests). */
  readonly check: string;
  readonly verdict: Verdict;
  /** What was seen, for the technician. */
  readonly detail: string;
  /** One line: what to do. Absent on PASS. */
  readonly fix?: string;
}

export const pass = (check: string, detail: string): Finding => ({ check, verdict: 'pass', detail });
export const warn = (check: string, detail: string, fix: string): Finding => ({ check, verdict: 'warn', detail, fix });
export const fail = (check: string, detail: string, fix: string): Finding => ({ check, verdict: 'fail', detail, fix });

export const exitCodeOf = (findings: readonly Finding[]): 0 | 1 | 2 =>
  findings.some((f) => f.verdict === 'fail') ? 2 : findings.some((f) => f.verdict === 'warn') ? 1 : 0;

export function renderFindings(findings: readonly Finding[]): string {
  const lines = findings.map((f) => `${f.verdict.toUpperCase().padEnd(4)}  ${f.check}: ${f.detail}${f.fix ? `\n      fix: ${f.fix}` : ''}`);
  const count = (v: Verdict) => findings.filter((f) => f.verdict === v).length;
  lines.push(`${count('pass')} pass, ${count('warn')} warn, ${count('fail')} fail`);
  return `${lines.join('\n')}\n`;
}

/** A check that threw is a FAIL of that check, never a crash of the doctor. */
export async function guarded(check: string, run: () => Promise<Finding[]> | Finding[], fix: string): Promise<Finding[]> {
  try {
    return await run();
  } catch (e) {
    return [fail(check, e instanceof Error ? e.message : String(e), fix)];
  }
}
