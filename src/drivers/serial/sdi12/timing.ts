/**
 * SDI-12 line timing (hardware.md section 7): 1200 baud 7E1, inverted logic.
 * Wake-up = break (spacing) of at least 12 ms, then marking of at least 8.33 ms before the command.
 */

export const SDI12_SERIAL = { baudRate: 1200, dataBits: 7, parity: 'even', stopBits: 1 } as const;

export const SDI12_BREAK_MS = 12;
export const SDI12_MARKING_MS = 8.33;
/** One character: start + 7 data + parity + stop = 10 bits at 1200 baud. */
export const SDI12_CHAR_MS = (10 / 1200) * 1000;
/** A sensor starts answering within 15 ms of the command's last stop bit (SDI-12 v1.4; UNVERIFIED in hardware.md). */
export const SDI12_RESPONSE_START_MS = 15;
/** Margin for USB adapters, whose latency adds to every exchange. */
export const SDI12_ADAPTER_SLACK_MS = 50;

/** Longest reply per expected kind, CR LF and CRC included (data: 75 value chars for aC!/aR!). */
export const SDI12_MAX_REPLY_CHARS = { ack: 3, identify: 36, measure: 9, data: 83 } as const;

/** Longest line the SDI-12 framer keeps; longer lines are dropped whole. */
export const SDI12_MAX_LINE_BYTES = 96;

/** Time to allow for a full exchange: wake-up, command, reply start, the longest reply, adapter slack. */
export function sdi12ReplyTimeoutMs(command: string, expect: keyof typeof SDI12_MAX_REPLY_CHARS): number {
  const chars = command.length + SDI12_MAX_REPLY_CHARS[expect];
  return Math.ceil(SDI12_BREAK_MS + SDI12_MARKING_MS + SDI12_RESPONSE_START_MS + chars * SDI12_CHAR_MS + SDI12_ADAPTER_SLACK_MS);
}
