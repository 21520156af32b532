/**
 * What a connection error means for the technician who wrote uplink.broker. The client library speaks of
 * sockets ("read ECONNRESET"); the usual cause is a scheme that does not fit the port's listener.
 */
const TLS_SCHEMES = /^(mqtts|ssl|wss):/;
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|ERR_SSL/i;

export function brokerHint(url: string, err: Error & { code?: unknown }): string | undefined {
  const text = `${String(err.code ?? '')} ${err.message}`;
  const tls = TLS_SCHEMES.test(url);
  if (!tls && /ECONNRESET|EPIPE/.test(text)) {
    return 'the broker closed the connection at once: if this port expects TLS (often 8883), write mqtts:// in uplink.broker';
  }
  // A plain listener answers a TLS hello with a reset (mosquitto) or garbage (OpenSSL: wrong version number).
  if (tls && (NOT_TLS.test(text) || /ECONNRESET/.test(text))) {
    return 'this port probably does not speak TLS: write mqtt:// for a plain listener (often 1883), or use the broker\'s TLS port (often 8883)';
  }
  if (/ECONNREFUSED/.test(text)) return 'nothing listens there: is the broker running, and are host and port right?';
  return undefined;
}
