/**
 * A bound on what the broker may make the gateway buffer. mqtt.js parses a packet only once it has all
 * of it, and announces no limit of its own: a hostile broker that declares a 256 MiB packet gets it
 * buffered (issue 16). The gateway receives only acknowledgements (it subscribes to nothing), so it
 * announces MAX_INCOMING_PACKET_BYTES in CONNECT (MQTT 5 Maximum Packet Size) and, as a 3.1.1 broker
 * cannot be told, watches the framing of what arrives: a larger packet closes the connection as soon as
 * its header is read, before its body is received. At most one socket chunk is held meanwhile.
 */

/** Total packet size (fixed header included, as MQTT 5 counts it). CONNACK with long properties fits. */
export const MAX_INCOMING_PACKET_BYTES = 65_536;

/**
 * Feeds the bytes of one connection, in order; returns the size of the first packet over `max` (its
 * fixed header plus declared remaining length), or undefined while every packet is within it. Reads
 * only the fixed headers: O(1) state whatever the input.
 */
export function packetSizeGuard(max: number = MAX_INCOMING_PACKET_BYTES): (chunk: Uint8Array) => number | undefined {
  let skip = 0; // body bytes of the current packet still to pass
  let headerBytes = 0; // bytes of the current fixed header seen (type byte, then up to 4 length bytes)
  let length = 0;
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      headerBytes += 1;
      if (headerBytes === 1) continue; // packet type and flags
      length += (byte & 0x7f) * 128 ** (headerBytes - 2);
      const lastLengthByte = (byte & 0x80) === 0;
      // A fifth length byte is malformed (MQTT caps the varint at 4 bytes): as good as too large.
      if (!lastLengthByte && headerBytes === 5) return Number.POSITIVE_INFINITY;
      if (!lastLengthByte) continue;
      const total = headerBytes + length;
      if (total > max) return total;
      skip = length;
      headerBytes = 0;
      length = 0;
    }
    return undefined;
  };
}
