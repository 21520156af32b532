/** Test helpers: positions are found by searching the text, independently of the YAML parser under test. */
import { expect } from 'vitest';
import type { ConfigIssue, ConfigResult } from '../../src/config/index.js';

/** 1-based line and column of the first occurrence of `needle` (after `after`, if given). */
export function positionOf(text: string, needle: string, after?: string): { line: number; col: number } {
  const start = after === undefined ? 0 : text.indexOf(after);
  const offset = text.indexOf(needle, Math.max(start, 0));
  if (offset < 0 || start < 0) throw new Error(`"${needle}" not in the text`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before.at(-1)!.length + 1 };
}

export function issuesOf(result: ConfigResult): ConfigIssue[] {
  if (result.ok) expect.fail('expected the config to be rejected');
  return result.errors;
}

/** A small valid site; tests derive broken variants from it by text replacement. */
export const VALID_SITE = `site:
  id: test-site
  name: Test site
gateway:
  id: gw-1
buses:
  - id: line1
    type: serial
    port: /dev/ttyUSB0
  - id: lan
    type: tcp
    host: 127.0.0.1
devices:
  - id: meter
    bus: line1
    unit: 1
    profile: eastron-sdm630
    poll: 10s
  - id: soil
    bus: line1
    unit: 2
    profile: soil-dfrobot
store:
  path: /tmp/test.db
  keyFile: /tmp/test.key
policy:
  allow:
    - match: meter.power_total
      statistics: [mean]
`;

/** Replaces exactly one occurrence, so a fixture edit cannot silently miss. */
export function edit(text: string, from: string, to: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`"${from}" occurs ${parts.length - 1} times`);
  return parts.join(to);
}
