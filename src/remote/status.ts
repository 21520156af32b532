/** The retained status a gateway reports on PREFIX/gw/ID/cfg/status. */
import type { LastOutcome, SlotRef } from './state.js';

export type HeadState = 'ok' | 'behind' | 'stale-head' | 'none';

export interface RemoteStatus {
  gateway: string;
  ts: string;
  state: 'idle' | 'trial' | 'offline';
  trust: number;
  running: { seq: number | null; sha256: string; source: SlotRef['source'] | 'file'; dirty: boolean };
  last: Omit<LastOutcome, 'at'> & { at: string } | null;
  head: { state: HeadState; seq?: number; ageS?: number };
}

/** The Will: set at connect so that the broker reports a gateway gone without a goodbye. */
export const offlineStatus = (gateway: string): string => JSON.stringify({ gateway, state: 'offline' });
