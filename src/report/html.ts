/**
 * The transparency report as one self-contained HTML file: styles and charts (SVG) inline, no executable script (the figures ride along as a JSON data block),
 * no external asset, readable offline and printable. Written for a reader who is not an engineer.
 */
import type { ReportFigures } from './figures.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const int = (n: number): string => Math.round(n).toLocaleString('en-GB');
const pct = (r: number | null): string => (r === null ? '—' : `${(r * 100).toFixed(1)} %`);

export function reportHtml(f: ReportFigures): string {
  const t = f.totals;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Data transparency report: ${esc(f.site)} (${esc(f.from)} to ${esc(f.to)})</title>
<style>${STYLE}</style></head><body>
<h1>What this building's gateway collected, and what left it</h1>
<p class="lead">Site <b>${esc(f.site)}</b>, gateway <b>${esc(f.gateway)}</b>, from <b>${esc(f.from)}</b> to <b>${esc(f.to)}</b>
(${t.days} day${t.days === 1 ? '' : 's'} with activity). Generated ${esc(f.generatedAt)}.</p>
<section class="cards">
${card('Messages sent upstream', int(t.messagesSent), 'id="total-messages"')}
${card('Bytes sent upstream', int(t.bytesSent), 'id="total-bytes"')}
${card('Readings kept on site', int(t.readingsKept), 'id="total-kept"')}
${card('Readings erased by retention', int(t.readingsErased), 'id="total-erased"')}
${card('Completeness', pct(t.completeness), 'id="total-completeness"')}
${card('Messages refused by the broker', int(t.messagesRefused), 'id="total-refused"')}
</section>
<h2>Messages sent per day</h2>
${bars(f.days.map((d) => [d.day, d.messagesSent]), 'messages')}
<h2>Completeness per day</h2>
<p>Share of the expected readings that arrived and passed the quality checks.</p>
${bars(f.days.map((d) => [d.day, d.completeness === null ? 0 : d.completeness * 100]), '%')}
<h2>What left the building, and what stayed</h2>
<p>Only summaries (statistics over a window) ever leave; raw readings stay on the gateway, encrypted, and are erased after their retention period.
Data of the <i>identifier</i> and <i>personal</i> classes never leave.</p>
<table id="points"><thead><tr><th>Point</th><th>Data class</th><th>Sent upstream</th><th>Kept on site only</th></tr></thead><tbody>
${f.points.map((p) => `<tr><td>${esc(p.point)}</td><td>${esc(p.dataClass)}</td><td>${p.left.length ? esc(p.left.join(', ')) : '<i>nothing</i>'}</td><td>${esc(p.local.join(', '))}</td></tr>`).join('\n')}
</tbody></table>
<h2>Day by day</h2>
<table id="days"><thead><tr><th>Day</th><th>Messages</th><th>Bytes</th><th>Refused</th><th>Readings kept</th><th>Erased</th><th>Dropped (raw / summaries)</th><th>Completeness</th><th>Windows rebuilt after an outage</th><th>Held for an untrusted clock, discarded</th></tr></thead><tbody>
${f.days.map((d) => `<tr><td>${esc(d.day)}</td><td>${int(d.messagesSent)}</td><td>${int(d.bytesSent)}</td><td>${int(d.messagesRefused)}</td><td>${int(d.readingsKept)}</td><td>${int(d.readingsErased)}</td><td>${int(d.dropsRaw)} / ${int(d.dropsSummaries)}</td><td>${pct(d.completeness)}</td><td>${int(d.recoveredWindows)}</td><td>${int(d.clockHeldDiscarded)}</td></tr>`).join('\n')}
</tbody></table>
<h2>The policy in force</h2>
<p>The site policy lists what may leave. ${f.policies.length > 1 ? `It changed during the period (${f.policies.length} versions).` : 'It did not change during the period.'}</p>
${f.policies.map((p) => `<h3>From ${esc(p.firstDay)} (version ${esc(p.hash.slice(0, 12))})</h3><pre>${esc(JSON.stringify(p.policy, null, 2))}</pre>`).join('\n')}
<script type="application/json" id="figures">${JSON.stringify(f).replace(/</g, '\\u003c')}</script>
</body></html>
`;
}

function card(label: string, value: string, attrs: string): string {
  return `<div class="card"><div class="value" ${attrs}>${value}</div><div class="label">${esc(label)}</div></div>`;
}

/** A bar chart as inline SVG: one bar per day, its value as a tooltip. */
function bars(points: readonly (readonly [string, number])[], unit: string): string {
  if (points.length === 0) return '<p><i>No activity recorded in this period.</i></p>';
  const width = 640;
  const height = 160;
  const max = Math.max(1, ...points.map(([, v]) => v));
  const w = width / points.length;
  const rects = points
    .map(([label, v], i) => {
      const h = (v / max) * (height - 20);
      return `<rect x="${(i * w + 1).toFixed(1)}" y="${(height - h).toFixed(1)}" width="${Math.max(1, w - 2).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(label)}: ${int(v)} ${esc(unit)}</title></rect>`;
    })
    .join('');
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(unit)} per day">${rects}<text x="0" y="12">max ${int(max)} ${esc(unit)}</text></svg>`;
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}.lead{font-size:1.1rem}.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #ccc;border-radius:.5rem;padding:.6rem 1rem;min-width:11rem}.value{font-size:1.5rem;font-weight:600}
.label{color:#555;font-size:.9rem}table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}
th{background:#f3f3f3}.chart{width:100%;height:auto;background:#fafafa}.chart rect{fill:#2a6f97}.chart text{font-size:11px;fill:#555}
pre{background:#f6f6f6;padding:.6rem;overflow:auto}`;
