/** One readable line per summary: the window, a few points, what went upstream and where raw data stays. */
import type { Config } from '../config/schema.js';
import type { OutboxMessage } from '../core/outbox.js';
import type { PointSummary, WindowSummary } from '../core/types.js';

const time = (ms: number) => new Date(ms).toLocaleTimeString('fr-FR', { hour12: false });

function pointText(p: PointSummary): string {
  const unit = p.unit ? ` ${p.unit}` : '';
  if (p.measure === 'counter' && p.delta !== undefined) return `${p.device}.${p.point} +${round(p.delta)}${unit}`;
  if (p.mean !== undefined) return `${p.device}.${p.point} ${round(p.mean)}${unit}`;
  return `${p.device}.${p.point} ${p.last ?? '—'}`;
}

const round = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));

export function describeSummary(
  summary: WindowSummary | undefined,
  sent: { message: OutboxMessage; bytes: number } | undefined,
  config: Config,
): string {
  if (!summary) return `${time(Date.now())}  sent ${sent?.message.id} (${sent?.bytes} B) to ${sent?.message.topic}`;
  const good = summary.points.filter((p) => p.count > 0);
  const devices = new Set(summary.points.map((p) => p.device)).size;
  const head = `${time(summary.start)}–${time(summary.end)}  ${good.length}/${summary.points.length} points from ${devices} devices`;
  const sample = good.slice(0, 4).map(pointText).join(' · ');
  const upstream = sent ? `${sent.bytes} B upstream to ${sent.message.topic}` : 'nothing allowed upstream';
  return `${head}: ${sample}${good.length > 4 ? ' …' : ''}  →  ${upstream}; raw readings kept in ${config.store.path}`;
}
