/**
 * What the site config needs to know of TIC points before anything runs (so `check` can match policy
 * rules against them): a label's point name and the labels kept by default. Imports only the label
 * table, which is pure data over core types.
 */
import { TIC_LABELS } from './labels.js';

/** EAST -> east, SMAXSN-1 -> smaxsn_prev (yesterday), NJOURF+1 -> njourf_next (tomorrow). */
export function ticPointName(label: string): string {
  return label.toLowerCase().replace(/-1$/, '_prev').replace(/\+1$/, '_next').replace(/[^a-z0-9_]/g, '_');
}

/** Every known numeric label of the mode (both modes in auto): what a device without `tic.labels` may report. */
export function ticDefaultLabels(mode: 'auto' | 'historique' | 'standard'): string[] {
  return Object.entries(TIC_LABELS)
    .filter(([, info]) => info.numeric && (mode === 'auto' || info.mode === mode))
    .map(([label]) => label);
}
