/**
 * The remote-config agent: verify -> stage -> trial -> commit or roll back, one bundle at a time.
 *
 *   IDLE --bundle--> verify --fail--> refused (reported; nothing written)
 *                    verify --ok----> stage: inactive slot written + flushed; baseline (what the old config saw)
 *                                     written; state {trial, lastSeq, timeFloor}
 *                    trial: run the new config, probe (broker PUBACK, buses, store) until trialS
 *                    pass -> state {committed} -> applied    fail/timeout -> state {trial: null} -> rolled-back
 *
 * A crash anywhere leaves the state file old (old config runs) or new (trial resumes); a second boot in
 * the same trial rolls back. While a trial runs, only the latest bundle that arrives is kept (bound: 1).
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readHead, SITE_FILE, textHash, type HeadPayload } from './bundle.js';
import { parseEnvelope, sha256Hex, validSigners } from './dsse.js';
import { isRefusal, Refusal } from './refusal.js';
import type { RunningReport } from './running.js';
import type { ProbeResult, RemoteRuntime } from './runtime.js';
import { inactiveSlot, type LastOutcome, type RemoteState, type SlotRef, StateDir } from './state.js';
import type { HeadState, RemoteStatus } from './status.js';
import { loadInitialTrust, roleSignatures, updateTrust, type Trust } from './trust.js';
import { verifyBundle, type SiteParse } from './verify.js';
import type { PointClasses } from './role.js';

export interface AgentOptions {
  readonly gateway: string;
  readonly stateDir: StateDir;
  /** The site file a technician edits; never written by the agent. */
  readonly localFile: string;
  readonly trustFile: string;
  readonly runtime: RemoteRuntime;
  /**
   * Parses and fully checks a site config text; returns the config (with its points' classes when known)
   * or FILE:LINE:COL lines. `files`: a bundle's files by relative name, not staged yet: read in place of
   * `file`'s folder (relative `profiles:` folders resolve there).
   */
  readonly parse: (text: string, file: string, files?: Readonly<Record<string, string>>) => SiteParse;
  readonly logger: Logger;
  readonly maxBytes: number;
  readonly headMaxAgeMs: number;
  /** Publishes the status (QoS 1): resolves on PUBACK, which is the trial's broker probe. */
  readonly report?: (status: RemoteStatus) => Promise<void>;
  readonly now?: () => number;
}

export type Outcome = Omit<LastOutcome, 'at'> | { outcome: 'ignored' };

type Parsed = { readonly config: Config; readonly points?: PointClasses };

/** Problems in a bundle's files named as the operator wrote them (`profiles/pump.yaml:12:3`), not by slot path. */
function relativeErrors(r: SiteParse, slotDir: string): SiteParse {
  return r.ok ? r : { ok: false, errors: r.errors.map((e) => e.replaceAll(`${slotDir}/`, '')) };
}

export const INBOX_FILE = 'local.yaml';

export class RemoteAgent {
  private state!: RemoteState;
  private trust!: Trust;
  private running!: Config;
  private runningPoints?: PointClasses;
  private runningSha = '';
  private head?: HeadPayload;
  private readonly bootAt: number;
  private busy: Promise<unknown> = Promise.resolve();
  private inTrial = false;
  private pending?: Buffer;
  private lastRefusal?: LastOutcome;
  private readonly now: () => number;

  constructor(private readonly opts: AgentOptions) {
    this.now = opts.now ?? Date.now;
    this.bootAt = this.now();
  }

  get runningConfig(): Config {
    return this.running;
  }

  get runningSha256(): string {
    return this.runningSha;
  }

  get trustVersion(): number {
    return this.trust.payload.version;
  }

  /** Decides what runs (hand edit, trial to resume or roll back), starts it, then resumes a trial if any. */
  async boot(): Promise<void> {
    const { stateDir, logger } = this.opts;
    this.state = stateDir.read();
    this.trust = this.loadTrustChain();
    const localText = readFileSync(this.opts.localFile, 'utf8');
    const localSha = textHash(localText);
    if (this.state.localSha256 === null) await this.save({ ...this.state, localSha256: localSha });
    else if (this.state.localSha256 !== localSha) {
      logger.warn({ file: this.opts.localFile }, 'site file edited by hand: it runs now, reported dirty');
      await this.save({ ...this.state, committed: null, trial: null, localSha256: localSha, dirty: true });
    }
    const trial = this.state.trial;
    if (trial) {
      if (trial.boots + 1 >= 2) {
        logger.warn({ seq: trial.seq }, 'second start during the same trial: rolling back');
        await this.save({ ...this.state, trial: null, last: this.outcome(trial.seq, 'rolled-back', 'reboot-in-trial', 'the gateway restarted twice during the trial') });
      } else await this.save({ ...this.state, trial: { ...trial, boots: trial.boots + 1 } });
    }
    const ref = this.state.trial ?? this.state.committed;
    const text = ref ? stateDir.readSlot(ref.slot, SITE_FILE) : localText;
    const parsed = this.opts.parse(text, ref ? join(stateDir.slotDir(ref.slot), SITE_FILE) : this.opts.localFile);
    if (!parsed.ok) throw new Refusal('schema', parsed.errors.join('; '));
    this.running = parsed.config;
    this.runningPoints = parsed.points;
    this.runningSha = textHash(text);
    if (this.state.trial) {
      const previous = this.state.committed ? this.parseSlot(this.state.committed) : this.parseLocal();
      // Nothing runs yet: what the old config saw was persisted when the trial started.
      await this.runTrial(previous, this.state.trial.trialS, stateDir.readBaseline(this.state.trial));
    } else await this.opts.runtime.run(this.running);
    await this.publishStatus();
    await this.takeInbox();
  }

  /** A bundle from the config topic. Serialised; while a trial runs, only the latest one waits. */
  receive(bytes: Buffer): Promise<Outcome> {
    if (this.inTrial) {
      this.pending = bytes;
      return Promise.resolve({ outcome: 'ignored' });
    }
    const job = this.busy.then(() => this.handle(bytes));
    this.busy = job.catch(() => undefined);
    return job;
  }

  /** `passerelle config apply FILE`: the same stage/trial path, without signatures (physical access is trusted). */
  applyLocal(text: string): Promise<Outcome> {
    const job = this.busy.then(() => this.handleLocal(text));
    this.busy = job.catch(() => undefined);
    return job;
  }

  /** Picks up a file `passerelle config apply` dropped into the inbox. */
  async takeInbox(): Promise<Outcome | undefined> {
    const file = join(this.opts.stateDir.dir, 'inbox', INBOX_FILE);
    if (!existsSync(file)) return undefined;
    const taken = `${file}.taking`;
    renameSync(file, taken);
    const text = readFileSync(taken, 'utf8');
    rmSync(taken, { force: true });
    return this.applyLocal(text);
  }

  /** A publish over the size cap reached the client (a broker ignoring the Maximum Packet Size): refused unread. */
  refuseTooLarge(bytes: number): void {
    this.refused(new Refusal('too-large', `${bytes} bytes; at most ${this.opts.maxBytes}`), undefined, false);
  }

  /** A signed head: who holds the latest sequence, so that a withheld bundle is seen. */
  receiveHead(bytes: Buffer): void {
    try {
      const env = parseEnvelope(bytes, 16_384);
      const { count, threshold } = roleSignatures(this.trust, 'head', validSigners(env, this.trust.keys));
      if (count < threshold) throw new Refusal('threshold', `${count}/${threshold} head signatures`);
      const head = readHead(env);
      if (head.gateway !== this.opts.gateway) throw new Refusal('wrong-gateway', `head for ${head.gateway}`);
      if (this.head && head.issuedAt < this.head.issuedAt) throw new Refusal('seq', 'older head');
      this.head = head;
    } catch (e) {
      this.opts.logger.warn({ reason: isRefusal(e) ? e.reason : 'error', detail: errorMessage(e) }, 'config head ignored');
    }
  }

  /** A new trust version (chain rule); persisted before it is used. */
  async receiveTrust(bytes: Buffer): Promise<boolean> {
    try {
      const next = updateTrust(this.trust, bytes, Math.max(this.now(), this.state.timeFloor));
      await this.opts.stateDir.writeTrust(next.payload.version, bytes);
      this.trust = next;
      await this.save({ ...this.state, trustVersion: next.payload.version });
      this.opts.logger.info({ version: next.payload.version }, 'trust file updated');
      return true;
    } catch (e) {
      if (!(isRefusal(e) && e.reason === 'seq')) this.opts.logger.warn({ detail: errorMessage(e) }, 'trust update refused');
      return false;
    }
  }

  headState(): { state: HeadState; seq?: number; ageS?: number } {
    const now = Math.max(this.now(), this.state.timeFloor);
    if (!this.head) return { state: now - this.bootAt > this.opts.headMaxAgeMs ? 'stale-head' : 'none' };
    const issued = Date.parse(this.head.issuedAt);
    const ageS = Math.round((now - issued) / 1000);
    const stale = now >= Date.parse(this.head.expires) || now - issued > this.opts.headMaxAgeMs;
    return { state: stale ? 'stale-head' : this.head.seq > this.state.lastSeq ? 'behind' : 'ok', seq: this.head.seq, ageS };
  }

  status(): RemoteStatus {
    const ref = this.state.trial ?? this.state.committed;
    const last = this.lastRefusal && (!this.state.last || this.lastRefusal.at >= this.state.last.at) ? this.lastRefusal : this.state.last;
    return {
      gateway: this.opts.gateway,
      ts: new Date(this.now()).toISOString(),
      state: this.state.trial ? 'trial' : 'idle',
      trust: this.trust.payload.version,
      running: { seq: ref?.seq ?? null, sha256: this.runningSha, source: ref?.source ?? 'file', dirty: this.state.dirty || this.opts.runtime.localEdits?.() !== undefined },
      last: last ? { ...last, at: new Date(last.at).toISOString() } : null,
      head: this.headState(),
    };
  }

  /** The running config, for `fleet sign` (src/remote/running.ts). */
  runningReport(nonce: string): RunningReport {
    const ref = this.state.trial ?? this.state.committed;
    const { stateDir } = this.opts;
    const site = ref ? stateDir.readSlot(ref.slot, SITE_FILE) : readFileSync(this.opts.localFile, 'utf8');
    const envelopeFile = ref && ref.source === 'push' ? join(stateDir.slotDir(ref.slot), 'bundle.dsse.json') : undefined;
    const edits = this.opts.runtime.localEdits?.();
    return {
      gateway: this.opts.gateway,
      nonce,
      sha256: textHash(site),
      seq: ref?.seq ?? null,
      lastSeq: this.state.lastSeq,
      source: ref?.source ?? 'file',
      dirty: this.state.dirty || edits !== undefined,
      site,
      ...(edits?.flows !== undefined ? { flows: edits.flows } : {}),
      ...(envelopeFile && existsSync(envelopeFile) ? { envelope: readFileSync(envelopeFile, 'utf8') } : {}),
    };
  }

  async publishStatus(): Promise<boolean> {
    try {
      await this.opts.report?.(this.status());
      return true;
    } catch (e) {
      this.opts.logger.warn({ detail: errorMessage(e) }, 'config status not published');
      return false;
    }
  }

  private async handle(bytes: Buffer): Promise<Outcome> {
    const envelopeSha = sha256Hex(bytes);
    // The retained bundle comes again after every reconnect: the one already handled is not news.
    if (this.state.last?.envelope === envelopeSha || this.lastRefusal?.envelope === envelopeSha) return { outcome: 'ignored' };
    const hand = this.handEdited();
    // Checked where it will be staged, so that relative profiles: folders resolve inside that slot.
    const slotDir = this.opts.stateDir.slotDir(inactiveSlot(this.state));
    try {
      const v = verifyBundle(bytes, {
        trust: this.trust,
        gateway: this.opts.gateway,
        lastSeq: this.state.lastSeq,
        timeFloor: this.state.timeFloor,
        now: this.now(),
        running: this.running,
        runningSha256: this.runningSha,
        maxBytes: this.opts.maxBytes,
        handEdited: hand,
        runningPoints: this.runningPoints,
        parse: (text, files) => relativeErrors(this.opts.parse(text, join(slotDir, SITE_FILE), files), slotDir),
      });
      await this.opts.runtime.preflight(v.config, this.running, v.bundle.base === 'any').catch((e: unknown) => {
        throw isRefusal(e) ? e : new Refusal('preflight:broker', errorMessage(e));
      });
      const files = Object.fromEntries(Object.entries(v.bundle.files).map(([n, f]) => [n, f.text]));
      files['bundle.dsse.json'] = bytes.toString('utf8');
      const trialS = this.clampTrial(v.bundle.trialS);
      const ref = { seq: v.bundle.seq, sha256: v.bundle.files[SITE_FILE]!.sha256, source: 'push' as const };
      return await this.stageAndTry(ref, files, { config: v.config, points: v.points }, trialS, {
        lastSeq: v.bundle.seq,
        timeFloor: Math.max(this.state.timeFloor, Date.parse(v.bundle.issuedAt)),
        envelope: envelopeSha,
      });
    } catch (e) {
      return this.refused(e, envelopeSha, hand);
    } finally {
      this.next();
    }
  }

  private async handleLocal(text: string): Promise<Outcome> {
    try {
      const slotDir = this.opts.stateDir.slotDir(inactiveSlot(this.state));
      const parsed = relativeErrors(this.opts.parse(text, join(slotDir, SITE_FILE), { [SITE_FILE]: text }), slotDir);
      if (!parsed.ok) throw new Refusal('schema', parsed.errors.slice(0, 3).join('; '));
      if (parsed.config.gateway.id !== this.opts.gateway) throw new Refusal('wrong-gateway', `file is for gateway ${parsed.config.gateway.id}`);
      await this.opts.runtime.preflight(parsed.config, this.running).catch((e: unknown) => {
        throw isRefusal(e) ? e : new Refusal('preflight:broker', errorMessage(e));
      });
      const ref = { seq: null, sha256: textHash(text), source: 'local' as const };
      return await this.stageAndTry(ref, { [SITE_FILE]: text }, parsed, this.clampTrial(this.trust.payload.trial.minS), {});
    } catch (e) {
      return this.refused(e, undefined, false);
    } finally {
      this.next();
    }
  }

  private refused(e: unknown, envelope: string | undefined, hand: boolean): Outcome {
    if (!isRefusal(e)) throw e;
    this.lastRefusal = { ...this.outcome(null, 'refused', e.reason, e.detail), ...(envelope ? { envelope } : {}) };
    if (hand) this.state = { ...this.state, dirty: true };
    this.opts.logger.warn({ reason: e.reason, detail: e.detail }, 'config bundle refused');
    void this.publishStatus();
    return { seq: null, outcome: 'refused', reason: e.reason, detail: e.detail };
  }

  private async stageAndTry(
    ref: Omit<SlotRef, 'slot'>,
    files: Record<string, string>,
    next: Parsed,
    trialS: number,
    seqFields: { lastSeq?: number; timeFloor?: number; envelope?: string },
  ): Promise<Outcome> {
    const { stateDir } = this.opts;
    const slot = inactiveSlot(this.state);
    await stateDir.stage(slot, files);
    const baseline = this.opts.runtime.baseline();
    await stateDir.writeBaseline({ slot, sha256: ref.sha256 }, baseline);
    const { envelope, ...seq } = seqFields;
    // The one commit point: sequence used up, time floor raised and the trial started, together.
    await this.save({
      ...this.state,
      ...seq,
      trial: { ...ref, slot, deadline: this.now() + trialS * 1000, boots: 0, trialS },
      last: { ...this.outcome(ref.seq, 'accepted'), ...(envelope ? { envelope } : {}) },
    });
    await this.publishStatus();
    const previous = { config: this.running, points: this.runningPoints };
    this.running = next.config;
    this.runningPoints = next.points;
    this.runningSha = ref.sha256;
    return this.runTrial(previous, trialS, baseline);
  }

  /** Runs the trial config (already current), probes, then commits or rolls back to `previous`. */
  private async runTrial(previous: Parsed, trialS: number, baseline: unknown): Promise<Outcome> {
    const { runtime, stateDir, logger } = this.opts;
    const trial = this.state.trial!;
    this.inTrial = true;
    try {
      let result = await runtime.run(this.running).then(
        (): ProbeResult => ({ ok: true }),
        (e: unknown): ProbeResult => ({ ok: false, reason: 'probe:start', detail: errorMessage(e) }),
      );
      if (result.ok) {
        stateDir.point('trial-started');
        result = await runtime.probe(baseline, this.now() + trialS * 1000);
        if (result.ok && !(await this.publishStatus())) result = { ok: false, reason: 'probe:broker', detail: 'status publish not acknowledged' };
      }
      if (result.ok) {
        stateDir.point('before-commit');
        const { deadline: _d, boots: _b, trialS: _t, ...committed } = trial;
        await this.save({ ...this.state, committed, trial: null, dirty: committed.source === 'local', last: { ...this.state.last!, ...this.outcome(trial.seq, 'applied') } });
        logger.info({ seq: trial.seq, source: trial.source }, 'config applied');
        await this.publishStatus();
        return { seq: trial.seq, outcome: 'applied' };
      }
      stateDir.point('before-rollback');
      logger.warn({ seq: trial.seq, reason: result.reason, detail: result.detail }, 'config trial failed: rolling back');
      await this.save({ ...this.state, trial: null, last: { ...this.state.last!, ...this.outcome(trial.seq, 'rolled-back', result.reason, result.detail) } });
      this.running = previous.config;
      this.runningPoints = previous.points;
      this.runningSha = this.state.committed ? this.state.committed.sha256 : (this.state.localSha256 ?? '');
      await runtime.run(previous.config);
      await this.publishStatus();
      return { seq: trial.seq, outcome: 'rolled-back', reason: result.reason, detail: result.detail };
    } finally {
      this.inTrial = false;
    }
  }

  private next(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) void this.receive(pending);
  }

  private handEdited(): boolean {
    try {
      return textHash(readFileSync(this.opts.localFile, 'utf8')) !== this.state.localSha256;
    } catch {
      return true;
    }
  }

  private clampTrial(s: number): number {
    const { minS, maxS } = this.trust.payload.trial;
    return Math.min(maxS, Math.max(minS, s));
  }

  private outcome(seq: number | null, outcome: LastOutcome['outcome'], reason?: string, detail?: string): LastOutcome {
    return { seq, outcome, ...(reason ? { reason } : {}), ...(detail ? { detail } : {}), at: this.now() };
  }

  /**
   * The new state is what status() reports from the moment it is being written, so that STATUS (the
   * watchdog pings read it) never lags behind state.json; a failed write puts the previous one back.
   */
  private async save(state: RemoteState): Promise<void> {
    const previous = this.state;
    this.state = state;
    try {
      await this.opts.stateDir.write(state);
    } catch (e) {
      if (this.state === state) this.state = previous;
      throw e;
    }
  }

  private parseSlot(ref: SlotRef): Parsed {
    const file = join(this.opts.stateDir.slotDir(ref.slot), SITE_FILE);
    const r = this.opts.parse(readFileSync(file, 'utf8'), file);
    if (!r.ok) throw new Refusal('schema', r.errors.join('; '));
    return r;
  }

  private parseLocal(): Parsed {
    const r = this.opts.parse(readFileSync(this.opts.localFile, 'utf8'), this.opts.localFile);
    if (!r.ok) throw new Refusal('schema', r.errors.join('; '));
    return r;
  }

  private loadTrustChain(): Trust {
    let trust = loadInitialTrust(readFileSync(this.opts.trustFile));
    const dir = join(this.opts.stateDir.dir, 'trust');
    const versions = readdirSync(dir)
      .map((f) => /^(\d+)\.trust\.dsse\.json$/.exec(f)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const v of versions) if (v > trust.payload.version) trust = updateTrust(trust, readFileSync(join(dir, `${v}.trust.dsse.json`)), 0);
    return trust;
  }
}
