/**
 * The master side of the M-Bus link layer (EN 13757-2) on one serial line. It owns the port (the
 * one-owner-per-line rule: nothing else may open it) and runs one transaction at a time: SND_NKE,
 * REQ_UD2 with the FCB alternating per address, multi-telegram readout (DIF 1Fh), selection by
 * secondary address and the wildcard search. A slave starts answering within 330 bit times + 50 ms;
 * `slackMs` adds the latency of a USB level converter. A lost answer is retried (2 retries, as the
 * standard advises) with the same FCB, so a meter repeats rather than skips a telegram.
 */
import type { Logger } from '../../../core/logger.js';
import { SerialLink, type SerialPortFactory, type SerialSettings } from '../serial-link.js';
import {
  ADDR_BROADCAST, ADDR_NETWORK, C_REQ_UD2, C_SND_NKE, C_SND_UD, CI_SELECT, encodeLong, encodeShort, FCB, isRspUd, MAX_FRAME_BYTES, MbusFrameReader, type FrameEvent,
} from './frame.js';
import { encodeManufacturer, idBytes, type MbusHeader } from './header.js';
import { parseUserData, type MbusRecord, type MbusTelegram } from './telegram.js';

export interface MbusMasterOptions {
  readonly settings: SerialSettings;
  readonly logger: Logger;
  readonly portFactory?: SerialPortFactory;
  /** Retries after a timeout or a bad frame (default 2). */
  readonly retries?: number;
  /** Added to the standard's answer time for the adapter's latency (default 100 ms). */
  readonly slackMs?: number;
  /** Telegrams read at most in one multi-telegram readout (default 16). */
  readonly maxTelegrams?: number;
}

export interface MbusMasterCounters {
  requests: number;
  timeouts: number;
  checksumErrors: number;
  /** Bytes that made no frame, or two slaves answering one selection at once. */
  collisions: number;
  retries: number;
  badTelegrams: number;
}

/** A secondary address to select; absent or F fields are wildcards. */
export interface SecondaryMask {
  /** 8 digits, F for any digit at that place (e.g. "12FFFFFF"). */
  readonly id: string;
  readonly manufacturer?: string;
  readonly version?: number;
  readonly medium?: number;
}

export type SelectResult = 'selected' | 'none' | 'collision';

export type ReadResult =
  | { readonly ok: true; readonly header?: MbusHeader; readonly records: MbusRecord[]; readonly telegrams: number; readonly problem?: string; readonly truncated?: boolean }
  | { readonly ok: false; readonly reason: 'timeout' | 'checksum' | 'decode'; readonly message: string };

type Answer = { kind: 'ack' } | { kind: 'frame'; event: Extract<FrameEvent, { type: 'frame' }> } | { kind: 'none' } | { kind: 'garbage'; checksum: boolean };

const DEFAULT_RETRIES = 2;
const DEFAULT_SLACK_MS = 100;

/** The time a slave may take to start answering: 330 bit times + 50 ms (EN 13757-2, 5.7.5). */
export const answerTimeoutMs = (baud: number): number => Math.ceil((330 * 1000) / baud + 50);
/** The time a whole frame of n bytes takes on the wire (11 bits a character: start, 8 data, parity, stop). */
export const frameTimeMs = (bytes: number, baud: number): number => Math.ceil((bytes * 11 * 1000) / baud);

export class MbusMaster {
  private readonly link: SerialLink;
  private readonly reader = new MbusFrameReader();
  private readonly fcb = new Map<number, boolean>();
  private tail: Promise<unknown> = Promise.resolve();
  private listener: ((e: FrameEvent | 'bytes') => void) | undefined;
  private readonly counters: MbusMasterCounters = { requests: 0, timeouts: 0, checksumErrors: 0, collisions: 0, retries: 0, badTelegrams: 0 };
  private readonly baud: number;

  constructor(private readonly opts: MbusMasterOptions) {
    this.baud = opts.settings.baudRate;
    this.link = new SerialLink({
      settings: opts.settings,
      logger: opts.logger,
      onData: (chunk) => this.onData(chunk),
      onOpen: () => this.reader.reset(),
      ...(opts.portFactory ? { portFactory: opts.portFactory } : {}),
    });
  }

  start(): Promise<void> {
    return this.link.start();
  }

  stop(): Promise<void> {
    return this.link.stop();
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  stats(): Record<string, number> {
    return { ...this.counters, garbageBytes: this.reader.counters.garbageBytes, ...this.link.stats() };
  }

  /** SND_NKE: resets the slave's link layer (its FCB); true when it acknowledged. To 255 (broadcast) nobody answers: sent once, not awaited. */
  sndNke(address: number): Promise<boolean> {
    return this.serial(async () => {
      if (address === ADDR_BROADCAST) {
        await this.broadcast(encodeShort(C_SND_NKE, address));
        return true;
      }
      const answer = await this.exchangeWithRetries(encodeShort(C_SND_NKE, address), 'ack');
      if (answer.kind === 'ack') this.fcb.set(address, true);
      return answer.kind === 'ack';
    });
  }

  /**
   * Reads every telegram of a meter (REQ_UD2 again, FCB toggled, while it ends with DIF 1Fh).
   * Address 253 reads the meter selected by secondary address.
   */
  read(address: number): Promise<ReadResult> {
    return this.serial(async () => {
      const records: MbusRecord[] = [];
      let header: MbusHeader | undefined;
      const max = this.opts.maxTelegrams ?? 16;
      for (let n = 1; n <= max; n++) {
        const t = await this.reqUd2(address);
        if (!t.ok) return n === 1 ? t : { ok: true, ...(header ? { header } : {}), records, telegrams: n - 1, problem: `telegram ${n}: ${t.message}` };
        header ??= t.telegram.header;
        records.push(...t.telegram.records.map((r) => ({ ...r, index: records.length + r.index })));
        if (t.telegram.problem) return { ok: true, ...(header ? { header } : {}), records, telegrams: n, problem: t.telegram.problem.message };
        if (!t.telegram.moreFollows) return { ok: true, ...(header ? { header } : {}), records, telegrams: n };
      }
      return { ok: true, ...(header ? { header } : {}), records, telegrams: max, truncated: true, problem: `more than ${max} telegrams: the rest was not read` };
    });
  }

  /** Selects the meter(s) matching the mask (SND_UD to 253, CI 52h); the others deselect themselves. */
  select(mask: SecondaryMask, retries = this.opts.retries ?? DEFAULT_RETRIES): Promise<SelectResult> {
    return this.serial(async () => {
      const answer = await this.exchangeWithRetries(encodeLong(C_SND_UD, ADDR_NETWORK, CI_SELECT, selectBytes(mask)), 'ack', true, retries);
      if (answer.kind === 'ack') {
        this.fcb.set(ADDR_NETWORK, true);
        return 'selected';
      }
      return answer.kind === 'garbage' ? 'collision' : 'none';
    });
  }

  /**
   * The wildcard search (EN 13757-3 Annex): fix the identification number digit by digit, most
   * significant first; a collision at a digit means several meters share the prefix, so go deeper.
   * Each meter found is read once for its header. `onProgress` sees every mask tried.
   */
  async search(onProgress?: (mask: string, result: SelectResult) => void): Promise<MbusHeader[]> {
    const found = new Map<string, MbusHeader>();
    const walk = async (prefix: string): Promise<void> => {
      for (let digit = 0; digit <= 9; digit++) {
        const id = `${prefix}${digit}`.padEnd(8, 'F');
        // No retry while searching: most masks select nobody, and a retry per mask would triple the search.
        const result = await this.select({ id }, 0);
        onProgress?.(id, result);
        if (result === 'selected') {
          const r = await this.read(ADDR_NETWORK);
          if (r.ok && r.header) found.set(`${r.header.id}/${r.header.manufacturer}/${r.header.version}/${r.header.medium}`, r.header);
          else if (prefix.length < 7) await walk(`${prefix}${digit}`); // an answer we could not read: look closer
        } else if (result === 'collision' && prefix.length < 7) {
          await walk(`${prefix}${digit}`);
        } else if (result === 'collision') {
          this.opts.logger.warn({ id }, 'several meters share this identification number: select them by manufacturer too');
        }
      }
    };
    await walk('');
    return [...found.values()];
  }

  private async reqUd2(address: number): Promise<{ ok: true; telegram: MbusTelegram } | { ok: false; reason: 'timeout' | 'checksum' | 'decode'; message: string }> {
    const fcb = this.fcb.get(address) ?? true;
    const answer = await this.exchangeWithRetries(encodeShort(C_REQ_UD2 | (fcb ? FCB : 0), address), 'long');
    if (answer.kind === 'none') return { ok: false, reason: 'timeout', message: `no answer from address ${address}` };
    if (answer.kind !== 'frame' || answer.event.frame.kind !== 'long') return { ok: false, reason: 'checksum', message: `no valid answer from address ${address} (checksum errors or noise)` };
    this.fcb.set(address, !fcb);
    const parsed = parseUserData(answer.event.frame.ci, answer.event.frame.data);
    if (!parsed.ok) {
      this.counters.badTelegrams++;
      return { ok: false, reason: 'decode', message: `${parsed.code}: ${parsed.message}` };
    }
    return { ok: true, telegram: parsed.telegram };
  }

  private async exchangeWithRetries(request: Buffer, expect: 'ack' | 'long', collisionIsAnswer = false, retries = this.opts.retries ?? DEFAULT_RETRIES): Promise<Answer> {
    let answer: Answer = { kind: 'none' };
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) this.counters.retries++;
      answer = await this.exchange(request, expect);
      if (answer.kind === 'ack' || answer.kind === 'frame') return answer;
      // During a selection, garbage is the answer: several meters matched.
      if (answer.kind === 'garbage' && collisionIsAnswer) {
        this.counters.collisions++;
        return answer;
      }
    }
    return answer;
  }

  /** A frame no slave answers (address 255): written, then the line is left quiet for an answer's time. */
  private async broadcast(frame: Buffer): Promise<void> {
    this.counters.requests++;
    if (this.link.isOpen) await this.link.write(frame).catch(() => undefined);
    await sleep(answerTimeoutMs(this.baud) + frameTimeMs(frame.length, this.baud));
    for (const address of this.fcb.keys()) this.fcb.set(address, true);
  }

  /** One request and the first frame that answers it, or none within the standard's time. */
  private async exchange(request: Buffer, expect: 'ack' | 'long'): Promise<Answer> {
    this.counters.requests++;
    this.reader.reset();
    if (!this.link.isOpen) {
      await sleep(answerTimeoutMs(this.baud));
      this.counters.timeouts++;
      return { kind: 'none' };
    }
    const slack = this.opts.slackMs ?? DEFAULT_SLACK_MS;
    const firstByteMs = answerTimeoutMs(this.baud) + frameTimeMs(request.length, this.baud) + slack;
    const wholeFrameMs = frameTimeMs(MAX_FRAME_BYTES, this.baud) + 50 + slack;
    return new Promise<Answer>((resolve) => {
      let sawBytes = false;
      let sawChecksum = false;
      const finish = (a: Answer) => {
        clearTimeout(timer);
        this.listener = undefined;
        resolve(a);
      };
      const expire = () => {
        if (sawBytes) {
          if (sawChecksum) this.counters.checksumErrors++;
          finish({ kind: 'garbage', checksum: sawChecksum });
        } else {
          this.counters.timeouts++;
          finish({ kind: 'none' });
        }
      };
      let timer = setTimeout(expire, firstByteMs);
      this.listener = (e) => {
        if (e === 'bytes') {
          if (!sawBytes) {
            sawBytes = true;
            clearTimeout(timer);
            timer = setTimeout(expire, wholeFrameMs);
          }
          return;
        }
        if (e.type === 'error') {
          sawChecksum = true;
          return;
        }
        if (expect === 'ack' && e.frame.kind === 'ack') {
          // A second slave's E5 overlapping the first would have been garbage; one clean E5 is one slave.
          finish(this.reader.counters.garbageBytes > garbageAtStart ? { kind: 'garbage', checksum: false } : { kind: 'ack' });
        } else if (expect === 'long' && e.frame.kind === 'long' && isRspUd(e.frame.c)) {
          finish({ kind: 'frame', event: e });
        }
      };
      const garbageAtStart = this.reader.counters.garbageBytes;
      this.link.write(request).catch(() => expire());
    });
  }

  private onData(chunk: Buffer): void {
    const listener = this.listener;
    if (!listener) return; // nobody asked: a late answer or line noise between transactions
    listener('bytes');
    for (const e of this.reader.push(chunk)) {
      if (this.listener !== listener) break;
      listener(e);
    }
  }

  /** One transaction at a time on the line, whoever asks. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }
}

/** The 8 bytes of a selection: id (BCD, F wildcards), manufacturer, version, medium (FFh/FFFFh = any). */
export function selectBytes(mask: SecondaryMask): number[] {
  const m = mask.manufacturer === undefined ? 0xffff : encodeManufacturer(mask.manufacturer);
  return [...idBytes(mask.id), m & 0xff, m >> 8, mask.version ?? 0xff, mask.medium ?? 0xff];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
