/**
 * Just enough MQTT framing to watch a TCP stream in tests: splits packets (fixed header + remaining
 * length) and reads a PUBLISH's topic and packet id or an acknowledgement's packet id.
 */
export interface MqttFrame {
  /** Control packet type: 3 PUBLISH, 4 PUBACK, ... */
  readonly type: number;
  readonly packetId?: number;
  readonly topic?: string;
}

/** Stateful: feed chunks of one direction of one connection, get the complete packets they close. */
export function mqttFrameReader(): (chunk: Buffer) => MqttFrame[] {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    const frames: MqttFrame[] = [];
    for (;;) {
      const header = remainingLength(buffer);
      if (!header || buffer.length < header.offset + header.length) return frames;
      frames.push(parse(buffer[0]!, buffer.subarray(header.offset, header.offset + header.length)));
      buffer = buffer.subarray(header.offset + header.length);
    }
  };
}

function remainingLength(buf: Buffer): { length: number; offset: number } | undefined {
  let length = 0;
  for (let i = 1; i <= 4; i++) {
    if (buf.length <= i) return undefined;
    length += (buf[i]! & 0x7f) * 128 ** (i - 1);
    if ((buf[i]! & 0x80) === 0) return { length, offset: i + 1 };
  }
  throw new Error('malformed MQTT remaining length');
}

function parse(first: number, body: Buffer): MqttFrame {
  const type = first >> 4;
  if (type === 3) {
    const qos = (first >> 1) & 3;
    const topicLength = body.readUInt16BE(0);
    const topic = body.subarray(2, 2 + topicLength).toString('utf8');
    return qos > 0 ? { type, topic, packetId: body.readUInt16BE(2 + topicLength) } : { type, topic };
  }
  if (type >= 4 && type <= 7) return { type, packetId: body.readUInt16BE(0) };
  return { type };
}
