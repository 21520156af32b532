/**
 * What a broker URL says about the transport. mqtt.js speaks TLS only for mqtts://, wss://, ssl:// and
 * tls:// (and, surprisingly, for mqtt:// when both a client certificate and key are given): a plain
 * scheme sends the CONNECT, password included, and every summary in clear.
 */

const TLS_SCHEMES = new Set(['mqtts', 'wss', 'ssl', 'tls']);
const PLAIN_SCHEMES = new Set(['mqtt', 'ws', 'tcp']);

export interface BrokerUrlFacts {
  readonly scheme: string;
  readonly host: string;
  readonly tls: boolean;
  readonly loopback: boolean;
  /** A user name or password written in the URL (they belong in usernameFile/passwordFile). */
  readonly credentials: boolean;
  /** The port the URL names; undefined for the scheme's default. */
  readonly port?: number;
  /** A query string (mqtt.js reads options from it). */
  readonly query: boolean;
}

/** Undefined when the text is not a URL with a known MQTT scheme (the schema's regex says why). */
export function brokerUrlFacts(url: string): BrokerUrlFacts | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (!TLS_SCHEMES.has(scheme) && !PLAIN_SCHEMES.has(scheme)) return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return {
    scheme,
    host,
    tls: TLS_SCHEMES.has(scheme),
    loopback: isLoopbackHost(host),
    credentials: parsed.username !== '' || parsed.password !== '',
    ...(parsed.port !== '' && { port: Number(parsed.port) }),
    query: parsed.search !== '',
  };
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The URL as it may appear in a log line: any user name or password replaced by "***". */
export function redactBrokerUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '***';
    parsed.password = '';
    return parsed.toString();
  } catch {
    // Not parseable: cut anything before an @ in the authority, which is where credentials would be.
    return url.replace(/\/\/[^/@]*@/, '//***@');
  }
}
