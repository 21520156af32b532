/**
 * `node --import bench/lib/memory-sampler.mjs …` with MEMORY_SAMPLES=FILE: appends one JSON line to FILE
 * every MEMORY_SAMPLE_MS (30 s): process.memoryUsage(), V8's heap spaces (size, physical, used) and the
 * process's resident memory by mapping (/proc/self/smaps: the node binary, the malloc heap, anonymous
 * memory, native addons, other libraries). No forced GC: what a running gateway holds. bench/memory.ts.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.MEMORY_SAMPLES;
const every = Number(process.env.MEMORY_SAMPLE_MS ?? 30_000);
const started = Date.now();
const MB = 1 / 1048576;

/** Rss (kB) summed by kind of mapping. */
function smapsByKind() {
  const kinds = { node: 0, mallocHeap: 0, anonymous: 0, addons: 0, libs: 0, other: 0 };
  let kind = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'latin1').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1];
      kind = path === '' ? 'anonymous' : path === '[heap]' ? 'mallocHeap' : path.endsWith('/node') || path.endsWith('/bin/node') ? 'node' : path.endsWith('.node') ? 'addons' : path.startsWith('/') ? 'libs' : 'other';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB$/.exec(line);
    if (rss) kinds[kind] += Number(rss[1]);
  }
  return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, Math.round((v / 1024) * 10) / 10]));
}

function sample() {
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [s.space_name, { size: +(s.space_size * MB).toFixed(2), physical: +(s.physical_space_size * MB).toFixed(2), used: +(s.space_used_size * MB).toFixed(2) }]),
  );
  const line = {
    s: Math.round((Date.now() - started) / 1000),
    rss: +(m.rss * MB).toFixed(1),
    heapTotal: +(m.heapTotal * MB).toFixed(1),
    heapUsed: +(m.heapUsed * MB).toFixed(1),
    external: +(m.external * MB).toFixed(1),
    arrayBuffers: +(m.arrayBuffers * MB).toFixed(1),
    smaps: smapsByKind(),
    spaces,
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

if (file) setInterval(sample, every).unref();
