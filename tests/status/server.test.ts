/** Issue 14 item 3: the status page costs nothing while nobody watches, and its bounds hold. */
import { get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { statusSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/core/logger.js';
import { startStatusServer, type StatusServer } from '../../src/status/server.js';
import type { StatusEvent, StatusSnapshot, StatusSource } from '../../src/status/types.js';

/** A source that counts what the server asks of it. */
class CountingSource implements StatusSource {
  snapshots = 0;
  listeners = new Set<(e: StatusEvent) => void>();
  snapshot(): StatusSnapshot {
    this.snapshots += 1;
    return { site: 's', gateway: 'g', now: Date.now(), lines: [], serial: {}, points: [], window: { start: 0, end: 0, completeness: null },
      outbox: { pending: 0, refused: 0 }, store: { bytes: 0, retentionDays: {}, drops: { raw: 0, summaries: 0 } }, clock: { trusted: true, held: 0 }, sent: [], history: {} };
  }
  subscribe(listener: (e: StatusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(): void {
    for (const l of this.listeners) l('readings');
  }
}

const servers: StatusServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** A valid config, then listening on a port the OS picks (a config itself cannot ask for port 0). */
const ephemeral = (input: Record<string, unknown>) => ({ ...statusSchema.parse(input), listen: '127.0.0.1:0' });

function open(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, resolve).once('error', reject));
}

describe('the status server', () => {
  it('subscribes and serialises only while a page is open, and lets go when the last one closes', async () => {
    const source = new CountingSource();
    const server = await startStatusServer(ephemeral({ maxClients: 1 }), source, 's', silentLogger());
    servers.push(server);
    source.emit();
    expect(source.listeners.size).toBe(0);
    expect(source.snapshots).toBe(0);

    const events = await open(`${server.url}events`);
    expect(events.statusCode).toBe(200);
    const chunks: string[] = [];
    events.on('data', (c: Buffer) => chunks.push(c.toString()));
    await new Promise((r) => setTimeout(r, 100));
    expect(source.listeners.size).toBe(1);
    expect(source.snapshots).toBe(1); // the first one, at once
    for (let i = 0; i < 50; i++) source.emit(); // a burst: one push, a second later
    const deadline = Date.now() + 10_000;
    while (source.snapshots < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1200)); // and no second push for the same burst
    expect(source.snapshots).toBe(2);
    expect(chunks.join('').match(/^data: /gm)).toHaveLength(2);

    const second = await open(`${server.url}events`);
    expect(second.statusCode).toBe(503); // maxClients: 1
    second.resume();

    events.destroy();
    await new Promise((r) => setTimeout(r, 200));
    expect(source.listeners.size).toBe(0);
    source.emit();
    await new Promise((r) => setTimeout(r, 1200));
    expect(source.snapshots).toBe(2);
  });

  it('serves uPlot from its package and the page with a policy that loads nothing from elsewhere', async () => {
    const server = await startStatusServer(ephemeral({}), new CountingSource(), 's', silentLogger());
    servers.push(server);
    const js = await open(`${server.url}assets/uplot.js`);
    expect(js.statusCode).toBe(200);
    let body = '';
    for await (const c of js) body += String(c);
    expect(body).toContain('uPlot');
    const page = await open(server.url);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    page.resume();
  });

  it('refuses to start on the network without TLS and a login, even if the config check was skipped', async () => {
    const config = { ...ephemeral({}), listen: '0.0.0.0:0' };
    await expect(startStatusServer(config, new CountingSource(), 's', silentLogger())).rejects.toThrow(/needs TLS and a login/);
  });
});
