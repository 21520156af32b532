import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { textHash } from '../../src/remote/bundle.js';
import { PasserelleError } from '../../src/core/errors.js';
import { bundleBytes, bundleInput, headBytes, siteText } from './fixtures.js';
import { makeHarness, type Harness } from './agent-harness.js';

let h: Harness;
beforeEach(async () => {
  h = makeHarness();
  await h.agent.boot();
});

const windowSite = (window = '10m') => siteText({ storeDir: h.dir, window });
const push = (site: string, over = {}, keys = h.keys.config) => h.agent.receive(bundleBytes(bundleInput(site, { base: textHash(h.localText), ...over }), keys));
const state = () => JSON.parse(readFileSync(join(h.dir, 'cfg', 'state.json'), 'utf8'));

describe('remote agent: verify, stage, trial', () => {
  it('applies a config-role push: trial, commit, status applied with the new hash', async () => {
    const site = windowSite();
    expect(await push(site)).toEqual({ seq: 1, outcome: 'applied' });
    expect(h.runtime.ran.at(-1)!.aggregation.window).toBe(600_000);
    expect(h.agent.status()).toMatchObject({ state: 'idle', running: { seq: 1, sha256: textHash(site), source: 'push', dirty: false }, last: { outcome: 'applied' } });
    expect(state()).toMatchObject({ lastSeq: 1, committed: { seq: 1 }, trial: null });
    expect(readFileSync(h.localFile, 'utf8')).toBe(h.localText);
  });

  it('a failed trial rolls back to the previous config, and its sequence stays used', async () => {
    h.runtime.probeResult = { ok: false, reason: 'probe:bus:line1', detail: '0 answers' };
    const before = h.agent.runningSha256;
    expect(await push(windowSite())).toMatchObject({ outcome: 'rolled-back', reason: 'probe:bus:line1' });
    expect(h.agent.runningSha256).toBe(before);
    expect(h.runtime.ran.at(-1)!.aggregation.window).toBe(300_000);
    h.runtime.probeResult = { ok: true };
    expect(await push(windowSite('15m'), { seq: 1 })).toMatchObject({ outcome: 'refused', reason: 'seq' });
    expect(await push(windowSite('15m'), { seq: 2 })).toMatchObject({ outcome: 'applied' });
  });

  it('ignores the same retained bundle delivered again, refuses an older sequence', async () => {
    const bytes = bundleBytes(bundleInput(windowSite(), { base: textHash(h.localText), seq: 5 }), h.keys.config);
    expect(await h.agent.receive(bytes)).toMatchObject({ outcome: 'applied' });
    expect(await h.agent.receive(bytes)).toEqual({ outcome: 'ignored' });
    const base = h.agent.runningSha256;
    expect(await push(windowSite('15m'), { seq: 4, base })).toMatchObject({ outcome: 'refused', reason: 'seq' });
  });

  it('refuses expired bundles, also when the clock is set back to 1970', async () => {
    expect(await push(windowSite(), { expires: new Date(Date.now() - 1000) })).toMatchObject({ reason: 'expired' });
    // A bundle issued now raises the time floor; a clock back at 1970 does not make an expired bundle valid.
    await push(windowSite(), { seq: 1 });
    let clock = 0;
    const keys = h.keys;
    const dir = h.dir;
    h = makeHarness({ keys, now: () => clock });
    void dir;
    await h.agent.boot();
    const b = bundleBytes(bundleInput(windowSite(), { base: textHash(h.localText), issuedAt: new Date(5000), expires: new Date(10_000) }), h.keys.config);
    clock = 0;
    expect(await h.agent.receive(b)).toMatchObject({ outcome: 'applied' });
    const stale = bundleBytes(bundleInput(windowSite('15m'), { seq: 2, base: h.agent.runningSha256, issuedAt: new Date(1000), expires: new Date(4000) }), h.keys.config);
    expect(await h.agent.receive(stale)).toMatchObject({ outcome: 'refused', reason: 'expired' });
  });

  it('refuses a bundle for another gateway, in the envelope or in the YAML', async () => {
    expect(await push(windowSite(), { gateway: 'gw-0002' })).toMatchObject({ reason: 'wrong-gateway' });
    expect(await push(siteText({ storeDir: h.dir, gateway: 'gw-0002' }))).toMatchObject({ reason: 'wrong-gateway' });
  });

  it('refuses a signature that does not verify, and a key of the wrong role', async () => {
    const bytes = bundleBytes(bundleInput(windowSite(), { base: textHash(h.localText) }), h.keys.config);
    const env = JSON.parse(bytes.toString());
    const payload = Buffer.from(env.payload, 'base64');
    payload[payload.length - 2]! ^= 1;
    expect(await h.agent.receive(Buffer.from(JSON.stringify({ ...env, payload: payload.toString('base64') })))).toMatchObject({ reason: 'sig' });
    expect(await push(windowSite(), {}, h.keys.head)).toMatchObject({ reason: 'role' });
    expect(await push(windowSite(), {}, h.keys.root)).toMatchObject({ reason: 'role' });
    expect(h.runtime.ran).toHaveLength(1);
  });

  it('a policy widening needs 2 distinct policy signatures; a config key alone or the same key twice is not enough', async () => {
    const wider = siteText({ storeDir: h.dir, allow: '    - match: "*"\n      statistics: [mean, max]' });
    expect(await push(wider)).toMatchObject({ reason: 'threshold' });
    expect(await push(wider, {}, [h.keys.policy[0]!])).toMatchObject({ reason: 'threshold', detail: expect.stringContaining('1/2 policy') });
    expect(await push(wider, {}, [h.keys.policy[0]!, h.keys.policy[0]!])).toMatchObject({ reason: 'threshold', detail: expect.stringContaining('1/2 policy') });
    expect(await push(wider, {}, h.keys.policy)).toMatchObject({ outcome: 'applied' });
  });

  it('base: any and a broker change need the policy role', async () => {
    expect(await push(windowSite(), { base: 'any' })).toMatchObject({ reason: 'threshold' });
    expect(await push(siteText({ storeDir: h.dir, broker: 'mqtts://elsewhere.example:8883' }))).toMatchObject({ reason: 'threshold' });
  });

  it('refuses a schema-invalid config with the YAML position, and a YAML alias bomb, without running anything', async () => {
    const bad = windowSite().replace('window: 10m', 'window: 7m');
    const r = await push(bad);
    expect(r).toMatchObject({ reason: 'schema', detail: expect.stringMatching(/site\.yaml:\d+:\d+ aggregation\.window/) });
    const bomb = `${windowSite()}x0: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n${Array.from({ length: 12 }, (_, i) => `x${i + 1}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`).join('\n')}\n`;
    expect(await push(bomb)).toMatchObject({ reason: 'schema' });
    expect(h.runtime.ran).toHaveLength(1);
  });

  it('a pre-flight failure refuses before anything is staged', async () => {
    h.runtime.preflightError = new PasserelleError('E_X', 'connection refused');
    expect(await push(windowSite())).toMatchObject({ reason: 'preflight:broker' });
    expect(state().lastSeq).toBe(0);
  });

  it('local edit vs push: base-mismatch, the local file byte-identical; a push re-based on the edit applies', async () => {
    const edited = `${h.localText}# technician: added a note\n`;
    writeFileSync(h.localFile, edited);
    expect(await push(windowSite())).toMatchObject({ reason: 'base-mismatch' });
    expect(h.agent.status().running.dirty).toBe(true);
    expect(readFileSync(h.localFile, 'utf8')).toBe(edited);
    h.restart();
    await h.agent.boot();
    expect(h.agent.runningSha256).toBe(textHash(edited));
    expect(h.agent.status().running).toMatchObject({ source: 'file', dirty: true });
    expect(await push(windowSite(), { base: textHash(h.localText) })).toMatchObject({ reason: 'base-mismatch' });
    expect(await push(windowSite(), { base: textHash(edited) })).toMatchObject({ outcome: 'applied' });
    expect(h.agent.status().running.dirty).toBe(false);
    expect(readFileSync(h.localFile, 'utf8')).toBe(edited);
  });

  it('config apply (local) takes the same trial path and reports dirty', async () => {
    expect(await h.agent.applyLocal(windowSite())).toEqual({ seq: null, outcome: 'applied' });
    expect(h.agent.status().running).toMatchObject({ source: 'local', dirty: true });
    h.runtime.probeResult = { ok: false, reason: 'probe:store', detail: 'x' };
    expect(await h.agent.applyLocal(windowSite('15m'))).toMatchObject({ outcome: 'rolled-back' });
    expect(h.runtime.ran.at(-1)!.aggregation.window).toBe(600_000);
  });

  it('a second start during the same trial rolls back; the first resumes the trial', async () => {
    h.restart(() => undefined);
    const crash = (p: string) => {
      if (p === 'trial-started') throw new Error('power cut');
    };
    h.restart(crash);
    await h.agent.boot();
    await expect(push(windowSite())).rejects.toThrow('power cut');
    expect(state().trial).toMatchObject({ seq: 1, boots: 0 });
    h.restart(crash);
    await expect(h.agent.boot()).rejects.toThrow('power cut');
    expect(state().trial).toMatchObject({ boots: 1 });
    h.restart();
    await h.agent.boot();
    expect(state()).toMatchObject({ trial: null, committed: null, lastSeq: 1, last: { outcome: 'rolled-back', reason: 'reboot-in-trial' } });
    expect(h.runtime.ran.at(-1)!.aggregation.window).toBe(300_000);
  });

  it('a trial resumed after a power cut compares with the baseline persisted when it started, not with nothing', async () => {
    const crash = (p: string) => {
      if (p === 'trial-started') throw new Error('power cut');
    };
    h.restart(crash);
    await h.agent.boot();
    const seen = { buses: { lan: { answers: 12, errorRate: 0.25 } }, probes: {} };
    h.runtime.baselineValue = seen;
    await expect(push(windowSite())).rejects.toThrow('power cut');
    h.runtime.baselineValue = { buses: {}, probes: {} }; // after the restart nothing ran yet: nothing to compare with
    h.restart();
    await h.agent.boot();
    expect(h.runtime.probedWith.at(-1)).toEqual(seen);
    expect(state()).toMatchObject({ trial: null, committed: { seq: 1 }, last: { outcome: 'applied' } });
  });

  it('head: behind when it names a newer sequence, stale-head once expired', async () => {
    let clock = Date.now();
    h = makeHarness({ keys: h.keys, now: () => clock });
    await h.agent.boot();
    h.agent.receiveHead(headBytes(h.keys, 'gw-0001', 3, new Date(clock), 26 * 3_600_000));
    expect(h.agent.headState()).toMatchObject({ state: 'behind', seq: 3 });
    clock += 27 * 3_600_000;
    expect(h.agent.headState().state).toBe('stale-head');
    h.agent.receiveHead(headBytes({ ...h.keys, head: h.keys.config }, 'gw-0001', 0, new Date(clock), 3_600_000));
    expect(h.agent.headState().state).toBe('stale-head');
  });
});

describe('remote agent: trust rotation and the inbox', () => {
  it('a rotated trust file is used from then on: a key removed in v2 no longer signs; it survives a restart', async () => {
    const { newKeyring, trustPayload } = await import('./fixtures.js');
    const { signTrust } = await import('../../src/remote/trust.js');
    const k2 = { ...newKeyring(), policy: h.keys.policy };
    const v2 = Buffer.from(JSON.stringify(signTrust(trustPayload(k2, 2), [...h.keys.root.slice(0, 2), ...k2.root.slice(0, 2)])));
    const newOnly = Buffer.from(JSON.stringify(signTrust(trustPayload(k2, 2), k2.root)));
    expect(await h.agent.receiveTrust(newOnly)).toBe(false);
    expect(await h.agent.receiveTrust(v2)).toBe(true);
    expect(h.agent.trustVersion).toBe(2);
    expect(await push(windowSite(), {}, h.keys.config)).toMatchObject({ reason: 'sig' });
    expect(await push(windowSite(), {}, k2.config)).toMatchObject({ outcome: 'applied' });
    h.restart();
    await h.agent.boot();
    expect(h.agent.trustVersion).toBe(2);
  });

  it('config apply hands the file over through the inbox; the agent takes it once', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(h.dir, 'cfg', 'inbox'), { recursive: true });
    writeFileSync(join(h.dir, 'cfg', 'inbox', 'local.yaml'), windowSite('15m'));
    expect(await h.agent.takeInbox()).toMatchObject({ outcome: 'applied' });
    expect(await h.agent.takeInbox()).toBeUndefined();
    expect(h.runtime.ran.at(-1)!.aggregation.window).toBe(900_000);
  });
});
