/** The status page's HTML and script, served by server.ts; uPlot comes from its package, never a CDN. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function statusPage(site: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Passerelle: ${esc(site)}</title><link rel="stylesheet" href="/assets/uplot.css"><link rel="stylesheet" href="/assets/status.css"></head>
<body><h1>Passerelle <span id="site">${esc(site)}</span></h1><p id="state">connecting…</p>
<section id="summary"></section>
<h2>Points</h2><table id="points"><thead><tr><th>Point</th><th>Class</th><th>Last value</th><th>Quality</th><th>Time</th></tr></thead><tbody></tbody></table>
<h2>Last hour</h2><div id="charts"></div>
<h2>Lines</h2><table id="lines"><thead><tr><th>Line</th><th>Requests</th><th>Queue</th><th>Errors by unit</th></tr></thead><tbody></tbody></table>
<h2>Serial meters</h2><table id="serial"><thead><tr><th>Device</th><th>Counters</th></tr></thead><tbody></tbody></table>
<h2>What left the building, and what stayed</h2><div class="cols"><div><h3>Sent (exactly as sent)</h3><div id="sent"></div></div>
<div><h3>Stayed local (last closed window)</h3><pre id="local"></pre></div></div>
<script src="/assets/uplot.js"></script><script src="/assets/status.js"></script></body></html>`;
}

export function loginPage(message = ''): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Passerelle: log in</title><link rel="stylesheet" href="/assets/status.css"></head>
<body><h1>Passerelle status</h1><form method="post" action="/login"><label>Admin password <input type="password" name="password" autofocus></label>
<button type="submit">Log in</button></form><p class="error">${esc(message)}</p></body></html>`;
}

export const STATUS_CSS = `body{font:15px/1.4 system-ui,sans-serif;margin:1rem 2rem;color:#222}table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}th{background:#f3f3f3}
#summary{display:flex;flex-wrap:wrap;gap:.6rem}.card{border:1px solid #ccc;border-radius:.4rem;padding:.4rem .8rem}
.card b{display:block;font-size:1.3rem}.bad{color:#b00}.stale{color:#a60}.cols{display:flex;gap:1rem}.cols>div{flex:1;min-width:0}
pre{background:#f6f6f6;padding:.4rem;white-space:pre-wrap;word-break:break-all;font-size:12px}#charts{display:flex;flex-wrap:wrap;gap:.5rem}.error{color:#b00}`;

export const STATUS_JS = `'use strict';
const $ = (id) => document.getElementById(id);
const text = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '—');
const pct = (r) => (r === null || r === undefined ? '—' : (r * 100).toFixed(0) + ' %');
const charts = new Map();
// A sensor's float as a technician reads it: 6 significant digits at most (232.394, not 232.3936309814453).
function shown(v) { return typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(6))) : v; }
function card(label, value, id) { return '<div class="card"><b id="' + id + '">' + text(value) + '</b>' + text(label) + '</div>'; }
function render(s) {
  $('state').textContent = 'live, updated ' + time(s.now);
  $('summary').innerHTML = card('window completeness so far', pct(s.window.completeness), 'completeness') +
    card('outbox pending', s.outbox.pending, 'outbox-pending') + card('refused by the broker (set aside)', s.outbox.refused, 'outbox-refused') +
    card('last delivery', time(s.outbox.lastDeliveryAt), 'last-delivery') + card('store size', Math.round(s.store.bytes / 1024) + ' KiB', 'store-bytes') +
    card('drops raw / summaries', s.store.drops.raw + ' / ' + s.store.drops.summaries, 'drops') +
    card('retention (days)', Object.entries(s.store.retentionDays).map(([k, v]) => k + ' ' + v).join(', ') || '7', 'retention') +
    card('clock', s.clock.trusted ? 'trusted' : 'NOT trusted (' + s.clock.held + ' held)', 'clock');
  $('points').tBodies[0].innerHTML = s.points.map((p) => '<tr data-point="' + text(p.key) + '"><td>' + text(p.key) + '</td><td>' + text(p.dataClass) +
    '</td><td class="value">' + text(p.value === undefined ? '—' : shown(p.value)) + ' ' + text(p.unit || '') + '</td><td class="' + text(p.quality) + '">' +
    text(p.quality || '—') + (p.reason ? ' (' + text(p.reason) + ')' : '') + '</td><td>' + time(p.ts) + '</td></tr>').join('');
  $('lines').tBodies[0].innerHTML = s.lines.map((l) => '<tr><td>' + text(l.id) + '</td><td>' + l.requests + '</td><td>' + l.queued + '</td><td>' +
    text(Object.entries(l.errors).map(([u, e]) => 'unit ' + u + ': ' + Object.entries(e).map(([k, v]) => k + ' ' + v).join(', ')).join('; ') || 'none') + '</td></tr>').join('');
  $('serial').tBodies[0].innerHTML = Object.entries(s.serial).map(([d, c]) => '<tr><td>' + text(d) + '</td><td>' +
    text(Object.entries(c).map(([k, v]) => k + ' ' + v).join(', ')) + '</td></tr>').join('');
  $('sent').innerHTML = s.sent.map((m) => '<p>' + time(m.at) + ' ' + text(m.topic) + ' (' + m.bytes + ' B, ' + text(m.format) +
    (m.format === 'senml-cbor' ? ', shown decoded' : '') + ')</p><pre class="payload">' + text(m.payload) + '</pre>').join('') || '<p>nothing yet</p>';
  $('local').textContent = s.local ? JSON.stringify(s.local.points, null, 1) : 'no window closed yet';
  for (const [key, series] of Object.entries(s.history)) {
    if (typeof uPlot === 'undefined' || series[0].length < 2) continue;
    let chart = charts.get(key);
    if (!chart) {
      const div = document.createElement('div');
      $('charts').appendChild(div);
      chart = new uPlot({ title: key, width: 320, height: 140, legend: { show: false }, series: [{}, { stroke: '#2a6f97' }], axes: [{}, { size: 60 }] }, [[], []], div);
      charts.set(key, chart);
    }
    chart.setData([series[0], series[1]]);
  }
}
const events = new EventSource('/events');
events.onmessage = (e) => render(JSON.parse(e.data));
events.onerror = () => { $('state').textContent = 'connection lost, retrying…'; };
`;

const require = createRequire(import.meta.url);
/** uPlot's files from its installed package (pinned in package.json): the page works offline. */
export function uplotAsset(name: 'uPlot.iife.min.js' | 'uPlot.min.css'): Buffer {
  return readFileSync(join(dirname(require.resolve('uplot/package.json')), 'dist', name));
}
