/**
 * The live status page (`status:` in the config): node:http or node:https, no framework. The page gets a
 * snapshot at once, then one per second at most while something changes, over server-sent events.
 * Nobody watching costs nothing: the feed is subscribed only while a page is open, and no timer runs and
 * nothing is serialised without one. Off this machine it is served only over TLS behind a login (the
 * config check refuses otherwise); on 127.0.0.1 it needs none.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { StatusConfig } from '../config/schema.js';
import { errorMessage, PasserelleError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readSecretFile } from '../core/secret-file.js';
import { LoginGate, readPasswordHash, SESSION_COOKIE } from './auth.js';
import { loginPage, STATUS_CSS, STATUS_JS, statusPage, uplotAsset } from './page.js';
import type { StatusSource } from './types.js';

/** At most one snapshot a second per change burst: a busy line does not flood the page. */
const PUSH_DELAY_MS = 1000;
const MAX_LOGIN_BODY_BYTES = 1024;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export interface StatusServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export async function startStatusServer(config: StatusConfig, source: StatusSource, site: string, logger: Logger): Promise<StatusServer> {
  const split = config.listen.lastIndexOf(':');
  const host = config.listen.slice(0, split).replace(/^\[|\]$/g, '');
  const port = Number(config.listen.slice(split + 1));
  const tls = config.tlsCertFile && config.tlsKeyFile ? { cert: readFileSync(config.tlsCertFile), key: readKey(config.tlsKeyFile) } : undefined;
  // A listener off this machine is reachable by anyone on the LAN: everyone logs in there.
  const gate = LOOPBACK.test(config.listen.slice(0, split)) || !config.auth ? undefined : new LoginGate(readPasswordHash(config.auth.passwordHashFile), config.auth.maxFailuresPerIp);
  if (!LOOPBACK.test(config.listen.slice(0, split)) && (!tls || !gate)) {
    throw new PasserelleError('E_STATUS_EXPOSED', `status page on ${config.listen} needs TLS and a login off this machine (passerelle check says where)`);
  }
  const clients = new Set<ServerResponse>();
  let unsubscribe: (() => void) | undefined;
  let pushTimer: NodeJS.Timeout | undefined;

  const push = (): void => {
    pushTimer = undefined;
    if (clients.size === 0) return;
    let data: string;
    try {
      data = `data: ${JSON.stringify(source.snapshot())}\n\n`;
    } catch (e) {
      return logger.warn({ err: errorMessage(e) }, 'status snapshot failed');
    }
    for (const c of clients) c.write(data);
  };
  const onChange = (): void => {
    pushTimer ??= setTimeout(push, PUSH_DELAY_MS);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/assets/uplot.js') return send(res, 200, 'text/javascript', uplotAsset('uPlot.iife.min.js'));
    if (path === '/assets/uplot.css') return send(res, 200, 'text/css', uplotAsset('uPlot.min.css'));
    if (path === '/assets/status.css') return send(res, 200, 'text/css', STATUS_CSS);
    if (path === '/login' && req.method === 'POST' && gate) return void login(req, res, gate);
    if (gate && !gate.valid(req.headers.cookie)) {
      return path === '/' ? send(res, 200, 'text/html; charset=utf-8', loginPage()) : send(res, 401, 'text/plain', 'log in first\n');
    }
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', statusPage(site));
    if (path === '/assets/status.js') return send(res, 200, 'text/javascript', STATUS_JS);
    if (path === '/snapshot.json') return send(res, 200, 'application/json', JSON.stringify(source.snapshot()));
    if (path === '/events') return openEvents(res);
    send(res, 404, 'text/plain', 'not found\n');
  };

  const openEvents = (res: ServerResponse): void => {
    if (clients.size >= config.maxClients) return send(res, 503, 'text/plain', `at most ${config.maxClients} pages at once (status.maxClients)\n`);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream', connection: 'keep-alive' });
    clients.add(res);
    unsubscribe ??= source.subscribe(onChange);
    res.write(`data: ${JSON.stringify(source.snapshot())}\n\n`);
    res.on('close', () => {
      clients.delete(res);
      if (clients.size > 0) return;
      unsubscribe?.();
      unsubscribe = undefined;
      clearTimeout(pushTimer);
      pushTimer = undefined;
    });
  };

  const server: Server = tls ? createHttpsServer({ ...tls, minVersion: 'TLSv1.2' }, handler) : createHttpServer(handler);
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PasserelleError('E_STATUS_LISTEN', `status page cannot listen on ${config.listen}: ${errorMessage(e)}`)));
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
  logger.info({ url, login: gate !== undefined }, 'status page listening');
  return {
    port: bound,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        clearTimeout(pushTimer);
        unsubscribe?.();
        for (const c of clients) c.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function login(req: IncomingMessage, res: ServerResponse, gate: LoginGate): Promise<void> {
  const address = req.socket.remoteAddress ?? '?';
  if (gate.limited(address)) return send(res, 429, 'text/html; charset=utf-8', loginPage('Too many failed attempts: wait a quarter of an hour.'));
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_LOGIN_BODY_BYTES) return send(res, 413, 'text/plain', 'too large\n');
  }
  const password = new URLSearchParams(body).get('password') ?? '';
  const token = await gate.login(address, password);
  if (!token) return send(res, 401, 'text/html; charset=utf-8', loginPage('Wrong password.'));
  res.writeHead(303, { ...SECURITY_HEADERS, location: '/', 'set-cookie': `${SESSION_COOKIE}=${token}; HttpOnly; Secure; SameSite=Strict; Path=/` });
  res.end();
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type });
  res.end(body);
}

function readKey(path: string): Buffer {
  const key = readSecretFile(path, { what: 'status page TLS key file', maxBytes: 64 * 1024, codes: { perms: 'E_STATUS_PERMS' } });
  if (!key) throw new PasserelleError('E_STATUS_TLS', `status page TLS key file ${path} does not exist`);
  return key;
}
