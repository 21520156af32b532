/** Which data class an M-Bus record belongs to when no profile says it (decode, the generic profile). */
import type { DataClass } from '../../../core/types.js';
import { MBUS_QUANTITIES } from '../../../profiles/mbus-quantities.js';
import type { MbusRecord } from './telegram.js';

/** A plain-text unit naming a person, a place or a number that identifies one ("cust. ID", "Serial no"). */
const IDENTIFYING_LABEL = /cust|\bid\b|ident|serial|fabric|owner|name|addr|locat|user|passw/i;

export function recordDataClass(r: Pick<MbusRecord, 'quantity' | 'plainText'>): DataClass {
  if (r.quantity === 'plain_text' && IDENTIFYING_LABEL.test(r.plainText ?? '')) return 'identifier';
  return MBUS_QUANTITIES[r.quantity].dataClass;
}
