/**
 * A listener that plays systemd's side of sd_notify (fake-systemd.py: Node has no AF_UNIX datagram
 * socket). Collects every message but systemd-notify's BARRIER=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface NotifyMessage {
  readonly pid: number | null;
  readonly fields: Readonly<Record<string, string>>;
}

export interface FakeSystemd {
  readonly socket: string;
  readonly messages: NotifyMessage[];
  /** Resolves with the first message (from index `from`) that has this field or matches, else rejects after timeoutMs. */
  waitFor(field: string | ((m: NotifyMessage) => boolean), timeoutMs?: number, from?: number): Promise<NotifyMessage>;
  close(): Promise<void>;
}

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export function startFakeSystemd(dir: string): Promise<FakeSystemd> {
  const socket = join(dir, 'notify.sock');
  const child: ChildProcess = spawn(PYTHON, [join(import.meta.dirname, 'fake-systemd.py'), socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: NotifyMessage[] = [];
  const waiters = new Set<() => void>();
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.once('error', reject);
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = JSON.parse(buffered.slice(0, nl)) as { listening?: string } & NotifyMessage;
        buffered = buffered.slice(nl + 1);
        if (line.listening) resolve(api);
        else if (!('BARRIER' in line.fields)) messages.push(line);
        for (const w of waiters) w();
      }
    });
    const api: FakeSystemd = {
      socket,
      messages,
      waitFor: (field, timeoutMs = 20_000, from = 0) =>
        new Promise((res, rej) => {
          const check = () => {
            const found = messages.slice(from).find(typeof field === 'string' ? (m) => field in m.fields : field);
            if (!found) return;
            waiters.delete(check);
            clearTimeout(timer);
            res(found);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            rej(new Error(`no ${String(field)} within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(from))}`));
          }, timeoutMs);
          waiters.add(check);
          check();
        }),
      close: () =>
        new Promise((res) => {
          if (child.exitCode !== null) return res();
          child.once('exit', () => res());
          child.kill();
        }),
    };
  });
}
