import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfigText } from '../../src/config/index.js';
import { redactBrokerUrl } from '../../src/core/broker-url.js';
import { runCli } from '../cli/cli.js';
import { issuesOf, positionOf, VALID_SITE } from './helpers.js';

const FILE = 'site.yaml';

/** VALID_SITE with an uplink section. */
const withUplink = (lines: string): string => `${VALID_SITE}uplink:\n${lines}`;

describe('a plain-text broker off this machine is refused (16.3)', () => {
  it.each(['mqtt://broker.example.org:1883', 'ws://broker.example.org/mqtt', 'tcp://10.1.2.3:1883'])('%s: refused at the broker line, with the TLS fix', (url) => {
    const text = withUplink(`  broker: ${url}\n  passwordFile: /etc/passerelle/mqtt-password\n`);
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ ...positionOf(text, url), path: 'uplink.broker' });
    expect(issues[0]!.message).toMatch(/in clear/);
    expect(issues[0]!.message).toContain('mqtts://');
    expect(issues[0]!.message).toContain('allowPlaintext: true');
  });

  it.each(['mqtt://127.0.0.1:1883', 'mqtt://localhost:1883', 'mqtt://[::1]:1883', 'mqtts://broker.example.org:8883', 'wss://broker.example.org/mqtt'])(
    '%s: accepted, no warning (loopback or TLS)',
    (url) => {
      const result = loadConfigText(withUplink(`  broker: ${url}\n`), FILE);
      if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
      expect(result.warnings).toEqual([]);
    },
  );

  it('allowPlaintext: true accepts it, with a located warning', () => {
    const text = withUplink('  broker: mqtt://broker.example.org:1883\n  allowPlaintext: true\n');
    const result = loadConfigText(text, FILE);
    if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatchObject({ ...positionOf(text, 'true', 'allowPlaintext'), path: 'uplink.allowPlaintext' });
    expect(result.warnings[0]!.message).toMatch(/^warning: .*broker\.example\.org.* in clear/);
  });

  it.each(['caFile', 'certFile', 'keyFile'])('%s with a plain scheme is an error at that line (it would be ignored)', (field) => {
    const text = withUplink(`  broker: mqtt://127.0.0.1:1883\n  ${field}: /etc/passerelle/x.pem\n`);
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toEqual([expect.objectContaining({ ...positionOf(text, '/etc/passerelle/x.pem'), path: `uplink.${field}` })]);
    expect(issues[0]!.message).toContain('mqtts://127.0.0.1:8883');
  });

  it('credentials inside the broker URL are refused, without repeating them', () => {
    const text = withUplink('  broker: mqtts://gw:s3cr3t-pw@broker.example.org:8883\n');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toEqual([expect.objectContaining({ ...positionOf(text, 'mqtts://gw'), path: 'uplink.broker' })]);
    expect(issues[0]!.message).toContain('passwordFile');
    expect(issues[0]!.message).not.toContain('s3cr3t-pw');
  });

  it('check prints the warning with FILE:LINE:COL and still says ok; refuses the plain URL with exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'passerelle-broker-'));
    try {
      const allowed = join(dir, 'allowed.yaml');
      const refused = join(dir, 'refused.yaml');
      const allowedText = withUplink('  broker: mqtt://broker.example.org:1883\n  allowPlaintext: true\n');
      await writeFile(allowed, allowedText);
      await writeFile(refused, withUplink('  broker: mqtt://broker.example.org:1883\n'));
      const [ok, ko] = await Promise.all([runCli(['check', allowed]), runCli(['check', refused])]);
      const at = positionOf(allowedText, 'true', 'allowPlaintext');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`${allowed}: ok`);
      expect(ok.stderr).toContain(`${allowed}:${at.line}:${at.col} uplink.allowPlaintext: warning:`);
      expect(ko.code).toBe(1);
      expect(ko.stderr).toMatch(new RegExp(`${refused}:\\d+:\\d+ uplink.broker: mqtt:// sends the password`));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('redactBrokerUrl', () => {
  it('hides a user name and password, keeps the rest', () => {
    expect(redactBrokerUrl('mqtt://user:pass@10.0.0.1:1883')).toBe('mqtt://***@10.0.0.1:1883');
    expect(redactBrokerUrl('mqtts://broker.example.org:8883')).toBe('mqtts://broker.example.org:8883');
    expect(redactBrokerUrl('not a url //u:p@x')).not.toContain('u:p');
  });
});
