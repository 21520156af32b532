import { describe, expect, it } from 'vitest';
import { batchSizes, summarise } from '../../src/remote/fleet.js';
import type { RemoteStatus } from '../../src/remote/status.js';

describe('fleet publishing and status', () => {
  it('batches: a canary, then cumulative shares, every gateway exactly once', () => {
    expect(batchSizes(100, 3, [0.1, 0.5, 1])).toEqual([3, 7, 40, 50]);
    expect(batchSizes(5, 10, [0.5])).toEqual([5]);
    expect(batchSizes(1000, 0, [1])).toEqual([1000]);
    for (const n of [1, 7, 99, 1000]) expect(batchSizes(n, 2, [0.3, 0.3, 0.9]).reduce((a, b) => a + b, 0)).toBe(n);
  });

  it('summarises converged, refused by reason, rolled back, dirty, offline, stale heads', () => {
    const base = (gw: string, o: Partial<RemoteStatus> = {}): RemoteStatus => ({
      gateway: gw, ts: '', state: 'idle', trust: 1, running: { seq: 2, sha256: 'x', source: 'push', dirty: false },
      last: { seq: 2, outcome: 'applied', at: '' }, head: { state: 'ok', seq: 2, ageS: 10 }, ...o,
    });
    const s = summarise(new Map<string, RemoteStatus | { gateway: string; state: 'offline' }>([
      ['a', base('a')],
      ['b', base('b', { last: { seq: null, outcome: 'refused', reason: 'sig', at: '' } })],
      ['c', base('c', { last: { seq: 3, outcome: 'rolled-back', reason: 'probe:bus:lan', at: '' } })],
      ['d', base('d', { running: { seq: 2, sha256: 'y', source: 'file', dirty: true }, head: { state: 'stale-head', ageS: 100_000 } })],
      ['e', { gateway: 'e', state: 'offline' }],
    ]));
    expect(s).toMatchObject({ gateways: 5, converged: 1, refused: { sig: 1 }, rolledBack: { 'probe:bus:lan': 1 }, dirty: ['d'], offline: ['e'], staleHead: ['d'], maxHeadAgeS: 100_000 });
  });
});
