import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTable, runCli, ROOT } from './cli.js';

describe('passerelle plan', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'passerelle-plan-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--json prints exactly {"buses":[{bus, baud, busTimeMs, requests:[{unit, function, address, count}]}]}', async () => {
    const r = await runCli(['plan', '--config', 'config/example-school.yaml', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { buses: Record<string, unknown>[] };
    expect(Object.keys(doc)).toEqual(['buses']);
    expect(doc.buses.map((b) => [b.bus, b.baud])).toEqual([
      ['rs485-tgbt', 9600],
      ['rs485-boiler', 9600],
      ['tcp-kitchen', null],
    ]);
    for (const b of doc.buses) {
      expect(Object.keys(b)).toEqual(['bus', 'baud', 'busTimeMs', 'requests']);
      expect(b.busTimeMs).toBeGreaterThan(0);
      for (const q of b.requests as Record<string, number>[]) expect(Object.keys(q)).toEqual(['unit', 'function', 'address', 'count']);
    }
    // The boiler is alone on its line: all its requests are unit 10, function 3.
    const boiler = doc.buses[1]!.requests as { unit: number; function: number }[];
    expect(new Set(boiler.map((q) => `${q.unit}/${q.function}`))).toEqual(new Set(['10/3']));
  });

  it('prints a table per bus with the bus time per cycle (demo site)', async () => {
    const r = await runCli(['plan', '--config', 'config/demo.yaml']);
    expect(r.code).toBe(0);
    const json = JSON.parse((await runCli(['plan', '--config', 'config/demo.yaml', '--json'])).stdout) as {
      buses: { bus: string; busTimeMs: number; requests: unknown[] }[];
    };
    const sections = r.stdout.split(/\n(?=bus )/);
    expect(sections).toHaveLength(json.buses.length);
    json.buses.forEach((b, i) => {
      expect(sections[i]).toMatch(new RegExp(`^bus ${b.bus} \\(Modbus TCP\\): 1 device\\(s\\), ${b.requests.length} request\\(s\\), ${b.busTimeMs.toFixed(1)} ms per cycle`));
      const table = parseTable(sections[i]!.split('\n').slice(1).join('\n'));
      expect(table.header).toEqual(['device', 'unit', 'poll', 'function', 'address', 'count', 'points', 'bus time']);
      expect(table.rows).toHaveLength(b.requests.length);
    });
  });

  it('warns on stderr when a cycle does not fit its poll and the line is over budget', async () => {
    const text = (await readFile(join(ROOT, 'config/example-school.yaml'), 'utf8'))
      .replace('poll: 10s', 'poll: 200ms'); // meter-main, all 14 points at 9600 baud
    const file = join(dir, 'tight.yaml');
    await writeFile(file, text);
    const r = await runCli(['plan', '--config', file, '--json']);
    expect(r.code).toBe(0);
    JSON.parse(r.stdout); // stdout stays pure JSON
    const warnings = r.stderr.trim().split('\n');
    expect(warnings[0]).toMatch(/^warning: device meter-main: one cycle needs \d+ ms of bus time but it polls every 200ms/);
    expect(warnings[1]).toMatch(/^warning: bus rs485-tgbt: the devices need \d+% of the line's time \(\d+% over budget\)/);
    expect(warnings).toHaveLength(2);
  });

  it('reports config errors with file:line:col and exit code 1', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, (await readFile(join(ROOT, 'config/demo.yaml'), 'utf8')).replace('poll: 2s', 'poll: soon'));
    const r = await runCli(['plan', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`));
    expect(r.stdout).toBe('');
  });
});
