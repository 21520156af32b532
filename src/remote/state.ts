/**
 * The remote-config state on the gateway: two slot directories (a, b) and ONE state file, the only
 * commit point. What runs is `trial ?? committed ?? the local site file`. The sequence number and the
 * time floor are written in the same state write that starts a trial, so a sequence is used up even
 * when its bundle rolls back.
 */
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { PasserelleError } from '../core/errors.js';
import { fsyncDirAsync, writeAtomicAsync, writeFlushedAsync } from './atomic-file.js';

export type SlotName = 'a' | 'b';
const slotRef = z.strictObject({
  slot: z.enum(['a', 'b']),
  seq: z.number().int().nullable(),
  sha256: z.string(),
  source: z.enum(['push', 'local']),
});
export type SlotRef = z.infer<typeof slotRef>;

export const OUTCOMES = ['accepted', 'applied', 'rolled-back', 'refused'] as const;
const lastSchema = z.strictObject({
  seq: z.number().int().nullable(),
  outcome: z.enum(OUTCOMES),
  reason: z.string().optional(),
  detail: z.string().optional(),
  at: z.number(),
  /** SHA-256 of the envelope, so that the retained copy delivered again after a reconnect is ignored. */
  envelope: z.string().optional(),
});
export type LastOutcome = z.infer<typeof lastSchema>;

const stateSchema = z.strictObject({
  v: z.literal(1),
  committed: slotRef.nullable(),
  trial: slotRef.extend({ deadline: z.number(), boots: z.number().int().min(0), trialS: z.number() }).nullable(),
  lastSeq: z.number().int().min(0),
  /** Latest issuedAt accepted (ms): the clock is never believed to be earlier than this. */
  timeFloor: z.number(),
  /** Hash of the local site file when it was last adopted; another hash means a hand edit. */
  localSha256: z.string().nullable(),
  /** The running config differs from what the fleet last pushed (hand edit or `config apply`). */
  dirty: z.boolean(),
  last: lastSchema.nullable(),
  trustVersion: z.number().int().min(0),
});
export type RemoteState = z.infer<typeof stateSchema>;

export const initialState = (): RemoteState => ({
  v: 1,
  committed: null,
  trial: null,
  lastSeq: 0,
  timeFloor: 0,
  localSha256: null,
  dirty: false,
  last: null,
  trustVersion: 0,
});

/** Steps of an apply where a crash test may stop the process (PASSERELLE_CRASH_AT). */
export type CrashPoint = 'slot-written' | 'state-tmp-written' | 'trial-started' | 'before-commit' | 'before-rollback';

export class StateDir {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly crashAt: (point: CrashPoint) => void = crashFromEnv,
  ) {
    this.file = join(dir, 'state.json');
    mkdirSync(join(dir, 'slots', 'a'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'slots', 'b'), { recursive: true, mode: 0o700 });
    mkdirSync(join(dir, 'trust'), { recursive: true, mode: 0o700 });
  }

  read(): RemoteState {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return initialState();
      throw new PasserelleError('E_REMOTE_STATE', `cannot read ${this.file}: ${(e as Error).message}`);
    }
    try {
      return stateSchema.parse(JSON.parse(text));
    } catch {
      // Only a disk fault can do this (writes are atomic): refuse to guess which config is safe.
      throw new PasserelleError('E_REMOTE_STATE', `${this.file} is damaged; restore it or remove it to run the local site file`);
    }
  }

  async write(state: RemoteState): Promise<void> {
    await writeAtomicAsync(this.file, `${JSON.stringify(state)}\n`, () => this.crashAt('state-tmp-written'));
  }

  slotDir(slot: SlotName): string {
    return join(this.dir, 'slots', slot);
  }

  /**
   * Replaces the slot's files, keeping their tree (names checked by bundle-paths.ts): the slot is emptied
   * (rm never follows a link), then every folder is created fresh and every file opened O_EXCL|O_NOFOLLOW,
   * so nothing is written through a link. Each file is flushed, then each folder, the slot's last.
   */
  async stage(slot: SlotName, files: Record<string, string>): Promise<void> {
    const dir = this.slotDir(slot);
    if (!lstatSync(dir).isDirectory()) throw new PasserelleError('E_REMOTE_STATE', `${dir} is not a folder (a link?): remove it, the gateway recreates it`);
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true, recursive: true });
    const folders = new Set<string>();
    for (const name of Object.keys(files)) for (let d = dirname(name); d !== '.'; d = dirname(d)) folders.add(d);
    // Parents before children (a shorter path first); mkdir fails on anything already there, a link included.
    const ordered = [...folders].sort((a, b) => a.length - b.length);
    for (const f of ordered) mkdirSync(join(dir, f), { mode: 0o700 });
    await Promise.all(Object.entries(files).map(([name, text]) => writeFlushedAsync(join(dir, name), text, 0o600, true)));
    for (const f of ordered.reverse()) await fsyncDirAsync(join(dir, f));
    await fsyncDirAsync(dir);
    this.crashAt('slot-written');
  }

  readSlot(slot: SlotName, name: string): string {
    return readFileSync(join(this.slotDir(slot), name), 'utf8');
  }

  async writeTrust(version: number, bytes: Buffer): Promise<void> {
    await writeAtomicAsync(join(this.dir, 'trust', `${version}.trust.dsse.json`), bytes);
  }

  /**
   * What the old config saw before a trial (buses answering, error rates), written before the state
   * write that starts the trial: a trial resumed after a power cut compares with it, not with nothing.
   */
  async writeBaseline(trial: Pick<SlotRef, 'slot' | 'sha256'>, baseline: unknown): Promise<void> {
    await writeAtomicAsync(join(this.dir, 'baseline.json'), `${JSON.stringify({ slot: trial.slot, sha256: trial.sha256, baseline: baseline ?? null })}\n`);
  }

  /** The baseline written for this trial, or undefined (none, damaged, or another trial's). */
  readBaseline(trial: Pick<SlotRef, 'slot' | 'sha256'>): unknown {
    try {
      const b = JSON.parse(readFileSync(join(this.dir, 'baseline.json'), 'utf8')) as { slot?: string; sha256?: string; baseline?: unknown };
      return b.slot === trial.slot && b.sha256 === trial.sha256 ? (b.baseline ?? undefined) : undefined;
    } catch {
      return undefined;
    }
  }

  point(p: CrashPoint): void {
    this.crashAt(p);
  }
}

/** The slot a new config may be staged into: never the committed one. */
export const inactiveSlot = (s: RemoteState): SlotName => (s.committed?.slot === 'a' ? 'b' : 'a');

/** PASSERELLE_CRASH_AT=<point>: the process kills itself there (SIGKILL), for power-cut tests. */
function crashFromEnv(point: CrashPoint): void {
  if (process.env.PASSERELLE_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
