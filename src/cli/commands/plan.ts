/**
 * `passerelle plan --config FILE [--json]`: the line budget of a site before going on site. Per bus, the
 * requests one poll cycle sends and their bus time; warnings (stderr) when a cycle does not fit its poll
 * interval or a line is over budget. With --json, stdout carries only the documented JSON.
 */
import type { Command } from 'commander';
import { formatDuration } from '../../core/duration.js';
import { formatBusTime, planSite, sitePlanJson, type BusPlan, type SitePlan } from '../../drivers/modbus/site-plan.js';
import { loadSite } from '../../gateway/load-site.js';

export interface PlanOptions {
  readonly config: string;
  readonly json?: boolean;
}

export interface CommandOutput {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

export const processOutput: CommandOutput = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('show per bus the requests of one poll cycle and their bus time; warn when a line is over budget')
    .requiredOption('-c, --config <file>', 'site configuration (YAML)')
    .option('--json', 'print {"buses":[{"bus","baud","busTimeMs","requests":[...]}]} for scripts')
    .action(async (o: PlanOptions) => {
      await planCommand(o);
    });
}

/** Returns the number of warnings (the exit code stays 0: a warning is advice, not a failure). */
export async function planCommand(opts: PlanOptions, out: CommandOutput = processOutput): Promise<number> {
  const { config, profiles } = await loadSite(opts.config);
  const plan = planSite(config, profiles);
  out.stdout(opts.json ? `${JSON.stringify(sitePlanJson(plan))}\n` : renderPlan(plan));
  for (const w of plan.warnings) out.stderr(`warning: ${w.message}\n`);
  return plan.warnings.length;
}

export function renderPlan(plan: SitePlan): string {
  const others = plan.otherBuses.map((o) => `bus ${o.bus}: ${o.protocols.join(', ')} device(s), not a Modbus line: nothing to plan\n`);
  return [...plan.buses.map(renderBus), ...others].join('\n');
}

const FUNCTION_NAMES: Readonly<Record<number, string>> = { 1: '1 coils', 2: '2 discrete', 3: '3 holding', 4: '4 input' };
const MAX_POINTS_TEXT = 48;

function renderBus(bus: BusPlan): string {
  const line = bus.type === 'tcp' ? 'Modbus TCP' : `RTU ${bus.baud} baud`;
  const requests = bus.devices.reduce((n, d) => n + d.reads.length, 0);
  const header =
    `bus ${bus.bus} (${line}): ${bus.devices.length} device(s), ${requests} request(s), ` +
    `${formatBusTime(bus.busTimeMs)} per cycle, line load ${(bus.load * 100).toFixed(1)}%\n`;
  const rows = bus.devices.flatMap((d) =>
    d.reads.map((r, i) => [
      i === 0 ? d.device : '',
      i === 0 ? String(d.unit) : '',
      i === 0 ? formatDuration(d.pollMs) : '',
      FUNCTION_NAMES[r.fn] ?? String(r.fn),
      `${r.address} (0x${r.address.toString(16).toUpperCase().padStart(4, '0')})`,
      String(r.count),
      shorten(r.points.map((p) => p.name).join(', '), MAX_POINTS_TEXT),
      formatBusTime(r.busTimeMs),
    ]),
  );
  if (rows.length === 0) return `${header}  (no devices)\n`;
  return header + formatTable(['device', 'unit', 'poll', 'function', 'address', 'count', 'points', 'bus time'], rows, '  ');
}

const shorten = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Left-aligned columns separated by two spaces; every line starts with `indent`. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent + cells.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd() + '\n';
  return line(headers) + rows.map(line).join('');
}
