/**
 * The bridge's requests and replies (docs/node-red-bridge.md is the specification). Requests are checked
 * here for shape only; whether a device, point or bus exists is the host's answer.
 */
import { z } from 'zod';

const name = z.string().min(1).max(128);

/** Globs over "device.point" (`*` any run of characters), as in the site policy. Absent: everything. */
const match = z.array(z.string().min(1).max(256)).max(64).optional();

export const requestSchema = z.discriminatedUnion('op', [
  z.strictObject({ id: z.unknown().optional(), op: z.literal('subscribe'), readings: z.boolean().default(true), summaries: z.boolean().default(true), match }),
  z.strictObject({ id: z.unknown().optional(), op: z.literal('unsubscribe') }),
  z.strictObject({ id: z.unknown().optional(), op: z.literal('read'), device: name, point: name }),
  z.strictObject({
    id: z.unknown().optional(),
    op: z.literal('read-registers'),
    bus: name,
    unit: z.number().int().min(0).max(255),
    fn: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4)]),
    address: z.number().int().min(0).max(65_535),
    count: z.number().int().min(1).max(125),
  }),
  z.strictObject({ id: z.unknown().optional(), op: z.literal('write'), device: name, point: name, value: z.number().finite() }),
  z.strictObject({ id: z.unknown().optional(), op: z.literal('point'), device: name, point: name, value: z.number().finite(), ts: z.number().int().positive().optional() }),
]);

export type BridgeRequest = z.output<typeof requestSchema>;

/** Stable error codes a flow may match (msg.error.code in the nodes). */
export type BridgeErrorCode =
  | 'BUSY'
  | 'E_BRIDGE_FRAME'
  | 'E_BRIDGE_TOO_LARGE'
  | 'E_BRIDGE_REQUEST'
  | 'E_BRIDGE_RATE'
  | 'E_BRIDGE_TS'
  | string;

export type BridgeReply =
  | { readonly id?: unknown; readonly ok: true; readonly [k: string]: unknown }
  | { readonly id?: unknown; readonly ok: false; readonly code: BridgeErrorCode; readonly message: string };

/** A request id, echoed back so a client can match replies; only short scalars are echoed. */
export function requestId(raw: Record<string, unknown>): unknown {
  const id = raw.id;
  if (typeof id === 'number' && Number.isFinite(id)) return id;
  if (typeof id === 'string' && id.length <= 64) return id;
  return undefined;
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') + ': ' : ''}${i.message}`)
    .join('; ');
}
