/** `passerelle fleet keygen|trust|sign` as an operator runs them; the result verifies on a gateway. */
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKey, spkiOf, writePrivateKeyFile } from '../../src/remote/keys.js';
import { loadInitialTrust } from '../../src/remote/trust.js';
import { verifyBundle } from '../../src/remote/verify.js';
import { loadConfigText } from '../../src/config/index.js';
import { textHash } from '../../src/remote/bundle.js';
import { runCli } from '../cli/cli.js';
import { siteText } from './fixtures.js';

describe('passerelle fleet', () => {
  it('keygen, trust, sign (policy diff, second signer): the bundle verifies on the gateway', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-fleet-'));
    const k = await runCli(['fleet', 'keygen', '--out', dir, '--name', 'root1']);
    expect(k.code).toBe(0);
    expect(statSync(join(dir, 'root1.key')).mode & 0o777).toBe(0o600);
    // A repository of its own: the checkout under test may be a plain copy (CI's Node 24 run).
    const repo = mkdtempSync(join(tmpdir(), 'passerelle-repo-'));
    mkdirSync(join(repo, '.git'));
    const inRepo = await runCli(['fleet', 'keygen', '--out', join(repo, 'keys'), '--name', 'x']);
    expect(inRepo.code).toBe(2);
    expect(inRepo.stderr).toContain('inside a git repository');
    for (const name of ['root2', 'root3', 'cfg', 'pol1', 'pol2', 'head']) {
      const key = generateKey();
      writePrivateKeyFile(join(dir, `${name}.key`), key.privateKey);
      writeFileSync(join(dir, `${name}.pub`), `${spkiOf(key.publicKey)}\n`);
    }
    const p = (n: string) => join(dir, n);
    const t = await runCli(['fleet', 'trust', '--version', '1', '--root', `${p('root1.pub')},${p('root2.pub')},${p('root3.pub')}`,
      '--config', p('cfg.pub'), '--policy', `${p('pol1.pub')},${p('pol2.pub')}`, '--head', p('head.pub'),
      '--sign', `${p('root1.key')},${p('root2.key')}`, '--out', p('trust.json')]);
    expect(t.code, t.stderr).toBe(0);
    const trust = loadInitialTrust(readFileSync(p('trust.json')));

    const running = siteText();
    const wider = siteText({ allow: '    - match: "*"\n      statistics: [max]' });
    writeFileSync(p('running.yaml'), running);
    writeFileSync(p('new.yaml'), wider);
    const s = await runCli(['fleet', 'sign', '--gateway', 'gw-0001', '--site', p('new.yaml'), '--running', p('running.yaml'),
      '--seq', '4', '--base', textHash(running), '--key', p('pol1.key'), '--out', p('b.json')]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain('needs the policy role');
    expect(s.stdout).toContain('policy.allow: * max was not allowed');
    expect(s.stdout).toContain('--add-to');
    const ctx = {
      trust, gateway: 'gw-0001', lastSeq: 3, timeFloor: 0, now: Date.now(), maxBytes: 262_144, runningSha256: textHash(running),
      running: (loadConfigText(running, 'r') as { ok: true; config: never; warnings: unknown }).config,
    };
    expect(() => verifyBundle(readFileSync(p('b.json')), ctx)).toThrow(/1\/2 policy/);
    const a = await runCli(['fleet', 'sign', '--add-to', p('b.json'), '--key', p('pol2.key'), '--out', p('b.json')]);
    expect(a.code, a.stderr).toBe(0);
    expect(verifyBundle(readFileSync(p('b.json')), ctx).bundle.seq).toBe(4);
  }, 120_000);
});
