/** 16.3: a plain-text broker the config allows knowingly is still said at every start. */
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatIssue, loadConfigText } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { freePort } from '../helpers/brokers.js';
import { capturingLogger } from '../store/helpers.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** An address of this machine that is not loopback: a closed port there refuses at once. */
const lanAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('gateway start with allowPlaintext', () => {
  it.runIf(lanAddress)('logs a warning naming the setting, and the broker URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-plain-'));
    dirs.push(dir);
    const port = await freePort();
    const yaml = [
      'site: { id: s1, name: Site }',
      'gateway: { id: g1 }',
      `store: { path: ${join(dir, 's.db')}, keyFile: ${join(dir, 's.key')} }`,
      `uplink: { broker: "mqtt://${lanAddress}:${port}", allowPlaintext: true }`,
      '',
    ].join('\n');
    const result = loadConfigText(yaml, 'site.yaml');
    if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
    const { logger, lines } = capturingLogger();
    const gateway = new Gateway({ config: result.config, profiles: new Map(), logger });
    await gateway.start();
    await gateway.stop();
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.field === 'uplink.allowPlaintext');
    expect(warning).toMatchObject({ level: 40 });
    expect(warning.msg).toContain(`${lanAddress} is reached without TLS`);
  }, 30_000);
});
