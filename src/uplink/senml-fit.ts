/**
 * Makes every point of a window fit one message. A point whose records alone exceed maxMessageBytes
 * (a 1500-character TIC MSG1 text, very long ids with many bad reasons under a 1 KiB bound), or whose
 * ids cannot form a SenML name, must not stop the window, nor the gateway: it is cut to what fits
 * (text values first, then every value, keeping its quality figures) or left out, and counted in
 * `drops.points`. The rest of the window leaves unchanged.
 */
import type { PointSummary, WindowSummary } from '../core/types.js';
import { pointRecords, senmlHeader } from './senml-build.js';
import { encodeSenml } from './senml-codec.js';
import type { SenmlFormat } from './senml-types.js';

type MutablePoint = { -readonly [K in keyof PointSummary]: PointSummary[K] };

const VALUES = ['min', 'max', 'mean', 'last', 'delta'] as const;

export interface FittedWindow {
  readonly summary: WindowSummary;
  /** Points cut or left out because they could not fit one message. */
  readonly pointsCut: number;
}

export function fitPoints(summary: WindowSummary, format: SenmlFormat, maxBytes: number): FittedWindow {
  // The longest msg-id a part of this window can carry, so the check holds whatever part the point lands in.
  const header = senmlHeader(summary, `${summary.id}#${summary.points.length + 1}`);
  const fits = (point: PointSummary): boolean => {
    try {
      return encodeSenml([...header, ...pointRecords(summary, point)], format).length <= maxBytes;
    } catch {
      return false; // E_SENML_NAME: an id SenML cannot carry
    }
  };
  let pointsCut = 0;
  const points: PointSummary[] = [];
  for (const point of summary.points) {
    if (fits(point)) {
      points.push(point);
      continue;
    }
    pointsCut += 1;
    const cut = [withoutValues(point, (v) => typeof v === 'string'), withoutValues(point, () => true)].find(fits);
    if (cut) points.push(cut);
  }
  const drops = summary.drops ?? { raw: 0, summaries: 0 };
  return { summary: { ...summary, points, drops: { ...drops, points: (drops.points ?? 0) + pointsCut } }, pointsCut };
}

function withoutValues(point: PointSummary, drop: (value: number | string) => boolean): PointSummary {
  const cut: MutablePoint = { ...point };
  for (const s of VALUES) if (cut[s] !== undefined && drop(cut[s])) delete cut[s];
  return cut;
}
