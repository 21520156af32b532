/** The running-config request and answer (src/remote/running.ts): a request is a nonce or nothing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { textHash } from '../../src/remote/bundle.js';
import { checkReport, MAX_REQUEST_BYTES, readRequest, type RunningReport } from '../../src/remote/running.js';

describe('running-config request', () => {
  it('takes a nonce, and nothing else: any bytes give a nonce of the allowed alphabet or undefined, never a throw', () => {
    expect(readRequest(Buffer.from('{"nonce":"abcdEFGH_-12"}'))).toBe('abcdEFGH_-12');
    expect(readRequest(Buffer.from('{"nonce":"short"}'))).toBeUndefined();
    expect(readRequest(Buffer.from('{"nonce":"abcdEFGH12","reply":"elsewhere/#"}'))).toBeUndefined();
    expect(readRequest(Buffer.from(`{"nonce":"${'a'.repeat(MAX_REQUEST_BYTES)}"}`))).toBeUndefined();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.json().map((j) => new TextEncoder().encode(j))), (bytes) => {
        const nonce = readRequest(Buffer.from(bytes));
        expect(nonce === undefined || /^[A-Za-z0-9_-]{8,64}$/.test(nonce)).toBe(true);
        if (bytes.length > MAX_REQUEST_BYTES) expect(nonce).toBeUndefined();
      }),
    );
  });

  it('an answer whose site text does not hash to the hash it gives is refused', () => {
    const site = 'site:\n  id: x\n';
    const r: RunningReport = { gateway: 'gw-0001', nonce: 'abcdefgh', sha256: textHash(site), seq: 3, lastSeq: 4, source: 'push', dirty: false, site };
    expect(checkReport(r)).toBe(r);
    expect(() => checkReport({ ...r, site: `${site}# edited\n` })).toThrow(/does not match its hash/);
  });
});
