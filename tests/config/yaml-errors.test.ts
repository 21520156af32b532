/** Issue 13 item 9: YAML syntax errors name the right line and a real field path, in a technician's words. */
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../src/config/index.js';
import { edit, issuesOf, positionOf, VALID_SITE } from './helpers.js';

const FILE = 'site.yaml';

describe('YAML syntax errors', () => {
  it('two keys on one line: the field whose value is broken, not the parser\'s guess of a key', () => {
    const text = edit(VALID_SITE, '    bus: line1\n    unit: 2', '    bus: line1 profile: soil\n    unit: 2');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toEqual([
      { file: FILE, ...positionOf(text, 'line1 profile'), path: 'devices[1].bus', message: expect.stringContaining('put each key on its own line') },
    ]);
  });

  it('a second document: plain words, no advice about the parser\'s API', () => {
    const text = `${VALID_SITE}---\nsite: { id: other, name: Other }\n`;
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, '---'), message: expect.stringContaining('a site config is one document') });
    expect(issue!.message).not.toMatch(/parseAllDocuments|YAML\./);
  });

  it('an unclosed quote points where the quote opens, not at the end of the file', () => {
    const text = edit(VALID_SITE, 'name: Test site', 'name: "Test site');
    const [issue] = issuesOf(loadConfigText(text, FILE));
    expect(issue).toMatchObject({ ...positionOf(text, '"Test site'), path: 'site.name', message: expect.stringContaining('never closed') });
  });

  it('a key indented too far is one problem about indentation', () => {
    const text = edit(VALID_SITE, '  name: Test site', '   name: Test site');
    const issues = issuesOf(loadConfigText(text, FILE));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: 'site.id', message: expect.stringContaining('indentation') });
  });
});
