/**
 * One readable line per message sent: the window, what was read, what left (the policy's choice) and
 * where the raw data stays.
 */
import type { Config } from '../config/schema.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { PointSummary, WindowSummary } from '../core/types.js';
import { applyPolicy } from '../uplink/policy.js';

const time = (ms: number) => new Date(ms).toLocaleTimeString('fr-FR', { hour12: false });
const round = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));

/** The statistics that left for one point, e.g. "meter.power_total mean 4210 W, max 4371 W". */
function sentText(p: PointSummary): string {
  const unit = p.unit ? ` ${p.unit}` : '';
  const stats = (['mean', 'min', 'max', 'last', 'delta'] as const)
    .filter((s) => p[s] !== undefined)
    .map((s) => `${s} ${typeof p[s] === 'number' ? round(p[s]) : p[s]}${unit}`);
  return `${p.device}.${p.point} ${stats.join(', ')}`;
}

export function describeSummary(
  summary: WindowSummary | undefined,
  sent: { message: OutboxMessage; bytes: number } | undefined,
  config: Config,
): string {
  if (!summary) return `${time(Date.now())}  ${sent?.message.topic.split('/').at(-1)} → ${sent?.bytes} B upstream to ${sent?.message.topic}`;
  const read = summary.points.filter((p) => p.count > 0).length;
  const allowed = applyPolicy(summary, config.policy).points;
  const head = `${time(summary.start)}–${time(summary.end)}  ${read}/${summary.points.length} points read, ${allowed.length} sent`;
  const upstream = sent ? `${sent.bytes} B upstream to ${sent.message.topic}` : 'nothing allowed upstream';
  const sample = allowed.slice(0, 3).map(sentText).join(' · ');
  return `${head}: ${sample}${allowed.length > 3 ? ' …' : ''}  →  ${upstream}; raw readings stay in ${config.store.path}`;
}
