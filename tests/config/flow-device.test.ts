/** `protocol: flow` devices: virtual devices whose declared points Node-RED flows feed through the bridge. */
import { describe, expect, it } from 'vitest';
import { formatIssue, loadConfigText } from '../../src/config/index.js';
import { edit, issuesOf, positionOf, VALID_SITE } from './helpers.js';

const FLOW_DEVICE = `  - id: tree
    protocol: flow
    flow:
      points:
        - { name: alert, class: environment, range: [0, 1] }
store:`;
const withFlow = (device = FLOW_DEVICE) => edit(VALID_SITE, 'store:', device);

describe('flow devices', () => {
  it('a flow device needs no bus and its points may be named by the policy', () => {
    const text = edit(withFlow(), '      statistics: [mean]\n', '      statistics: [mean]\n    - match: tree.alert\n      statistics: [max]\n');
    const result = loadConfigText(text, 'site.yaml');
    if (!result.ok) expect.fail(result.errors.map(formatIssue).join('\n'));
    const tree = result.config.devices.find((d) => d.id === 'tree')!;
    expect(tree.flow?.points[0]).toMatchObject({ name: 'alert', class: 'environment', measure: 'gauge', range: [0, 1] });
  });

  it('refuses a bus on a flow device, at its line and column', () => {
    const text = withFlow(FLOW_DEVICE.replace('    protocol: flow\n', '    protocol: flow\n    bus: line1\n'));
    const issues = issuesOf(loadConfigText(text, 'site.yaml'));
    const at = positionOf(text, 'bus: line1', '- id: tree');
    expect(issues).toContainEqual(expect.objectContaining({ line: at.line, message: expect.stringContaining('does not apply to a flow device') }));
  });

  it('refuses a flow device without declared points, and a point declared twice', () => {
    expect(issuesOf(loadConfigText(withFlow('  - id: tree\n    protocol: flow\nstore:'), 'site.yaml')).map((i) => i.message).join()).toContain('flow is required');
    const twice = withFlow(FLOW_DEVICE.replace('range: [0, 1] }\n', 'range: [0, 1] }\n        - { name: alert, class: status }\n'));
    const issues = issuesOf(loadConfigText(twice, 'site.yaml'));
    expect(issues[0]).toMatchObject({ line: positionOf(twice, 'alert, class: status').line, message: expect.stringContaining('already the name') });
  });

  it('a Modbus device still needs its bus', () => {
    const text = edit(VALID_SITE, '  - id: soil\n    bus: line1\n', '  - id: soil\n');
    expect(issuesOf(loadConfigText(text, 'site.yaml')).map((i) => i.message).join()).toContain('bus is required');
  });
});
