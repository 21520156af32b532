/** `nodered.supervisor`: who starts Node-RED; with systemd, the site must agree with the packaged unit, refused at the line otherwise. */
import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfigText } from '../../src/config/index.js';
import { SYSTEMD_NODERED } from '../../src/config/schema.js';
import { issuesOf, positionOf, VALID_SITE } from './helpers.js';

const withNodered = (section: string) => `${VALID_SITE.trimEnd()}\nnodered:\n${section}`;

function nodered(text: string) {
  const result = loadConfigText(text, 'site.yaml');
  if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
  return result.config.nodered!;
}

describe('nodered.supervisor', () => {
  it('defaults to the gateway, with the paths of before (npm start and the demo are unchanged)', () => {
    expect(nodered(withNodered('  port: 1880\n'))).toMatchObject({
      supervisor: 'gateway',
      dir: '/var/lib/passerelle/nodered',
      socket: '/var/lib/passerelle/nodered/bridge.sock',
      runAs: 'passerelle-flows',
    });
  });

  it('systemd: the unit\'s directory and socket when left out', () => {
    expect(nodered(withNodered('  supervisor: systemd\n'))).toMatchObject({ supervisor: 'systemd', dir: SYSTEMD_NODERED.dir, socket: SYSTEMD_NODERED.socket });
    expect(nodered(withNodered(`  supervisor: systemd\n  dir: ${SYSTEMD_NODERED.dir}/\n  socket: /run/passerelle/flows.sock\n`)).socket).toBe('/run/passerelle/flows.sock');
  });

  it('systemd: refuses another user, a directory the unit cannot write and a socket the flows user cannot reach, each at its line', () => {
    const text = withNodered('  supervisor: systemd\n  runAs: nobody\n  dir: /var/lib/passerelle/nodered\n  socket: /var/lib/passerelle/nodered/bridge.sock\n');
    const issues = issuesOf(loadConfigText(text, 'site.yaml'));
    expect(issues).toContainEqual(expect.objectContaining({ line: positionOf(text, 'runAs: nobody').line, message: expect.stringContaining('runs Node-RED as passerelle-flows') }));
    expect(issues).toContainEqual(expect.objectContaining({ line: positionOf(text, 'dir: /var').line, message: expect.stringContaining('/var/lib/passerelle-flows') }));
    expect(issues).toContainEqual(expect.objectContaining({ line: positionOf(text, 'socket: /var').line, message: expect.stringContaining('/run/passerelle') }));
  });

  it('refuses an unknown supervisor', () => {
    const text = withNodered('  supervisor: docker\n');
    expect(issuesOf(loadConfigText(text, 'site.yaml'))[0]).toMatchObject({ line: positionOf(text, 'supervisor: docker').line });
  });
});
