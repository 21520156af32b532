/** 16.4: aes256cbc (no MAC) is no longer offered; a config or a caller asking for it is told why. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.js';
import { PasserelleError } from '../../src/core/errors.js';
import { Store } from '../../src/store/store.js';
import { edit, issuesOf, positionOf, VALID_SITE } from './helpers.js';

describe('store.cipher aes256cbc', () => {
  it('check refuses it at its line, saying it is unauthenticated and naming the alternatives', () => {
    const text = edit(VALID_SITE, '  keyFile: /tmp/test.key\n', '  keyFile: /tmp/test.key\n  cipher: aes256cbc\n');
    const issues = issuesOf(loadConfigText(text, 'site.yaml'));
    expect(issues).toEqual([expect.objectContaining({ ...positionOf(text, 'aes256cbc'), path: 'store.cipher' })]);
    expect(issues[0]!.message).toMatch(/not authenticated/);
    expect(issues[0]!.message).toMatch(/chacha20.*sqlcipher/);
  });

  it('Store.open refuses it too, before touching any file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'passerelle-cipher-'));
    try {
      let error: unknown;
      try {
        Store.open({ path: join(dir, 's.db'), keyFile: join(dir, 's.key'), cipher: 'aes256cbc' as never });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PasserelleError);
      expect((error as PasserelleError).code).toBe('E_STORE_CIPHER');
      expect((error as PasserelleError).message).toMatch(/not authenticated/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
