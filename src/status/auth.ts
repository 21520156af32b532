/**
 * The status page's login: one admin password, checked against a bcrypt hash file (the format of the
 * Node-RED editor's admin credential, so both can share one file). No default password. Failed logins
 * are limited per client address (429 beyond), sessions are random tokens in an HttpOnly, Secure,
 * SameSite=Strict cookie. Both tables are bounded; at the bound the oldest entry goes.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { PasserelleError } from '../core/errors.js';
import { readSecretFile } from '../core/secret-file.js';

const WINDOW_MS = 15 * 60_000;
const SESSION_MS = 8 * 3_600_000;
const MAX_TRACKED_ADDRESSES = 1000;
const MAX_SESSIONS = 64;
export const SESSION_COOKIE = 'passerelle_status';
const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function readPasswordHash(path: string): string {
  const content = readSecretFile(path, { what: 'status page password hash file', maxBytes: 1024, codes: { perms: 'E_STATUS_PERMS' } });
  if (content === undefined) {
    throw new PasserelleError('E_STATUS_AUTH', `status page password hash file ${path} does not exist; create it (a bcrypt hash, mode 0600) or listen on 127.0.0.1`);
  }
  const hash = content.toString('utf8').trim().split(/\s+/).pop() ?? '';
  if (!BCRYPT.test(hash)) throw new PasserelleError('E_STATUS_AUTH', `status page password hash file ${path} holds no bcrypt hash ($2b$...)`);
  return hash;
}

export class LoginGate {
  private readonly failures = new Map<string, { n: number; since: number }>();
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly hash: string,
    private readonly maxFailures: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether this address has used up its failed attempts for the current quarter hour. */
  limited(address: string): boolean {
    const f = this.failures.get(address);
    if (!f || this.now() - f.since > WINDOW_MS) return false;
    return f.n >= this.maxFailures;
  }

  /** A new session token on the right password; undefined otherwise (counted against the address). */
  async login(address: string, password: string): Promise<string | undefined> {
    const { default: bcrypt } = await import('bcryptjs');
    if (password.length > 0 && password.length <= 256 && (await bcrypt.compare(password, this.hash))) {
      this.failures.delete(address);
      const token = randomBytes(32).toString('base64url');
      if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
      this.sessions.set(token, this.now() + SESSION_MS);
      return token;
    }
    const f = this.failures.get(address);
    if (!f || this.now() - f.since > WINDOW_MS) {
      if (this.failures.size >= MAX_TRACKED_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
      this.failures.set(address, { n: 1, since: this.now() });
    } else f.n += 1;
    return undefined;
  }

  valid(cookieHeader: string | undefined): boolean {
    const token = cookieOf(cookieHeader, SESSION_COOKIE);
    if (!token) return false;
    for (const [known, expires] of this.sessions) {
      if (known.length === token.length && timingSafeEqual(Buffer.from(known), Buffer.from(token))) {
        if (expires > this.now()) return true;
        this.sessions.delete(known);
        return false;
      }
    }
    return false;
  }
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === name && v) return v;
  }
  return undefined;
}
