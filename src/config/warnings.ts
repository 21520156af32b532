/** What a valid config chooses knowingly but a reviewer must see: said by `check` and at every start. */
import { brokerUrlFacts } from '../core/broker-url.js';
import type { RawIssue } from './messages.js';
import type { Config } from './schema.js';

export function configWarnings(config: Config): RawIssue[] {
  const { broker, allowPlaintext } = config.uplink;
  const facts = broker === undefined ? undefined : brokerUrlFacts(broker);
  if (!facts || facts.tls || facts.loopback || !allowPlaintext) return [];
  return [
    {
      path: ['uplink', 'allowPlaintext'],
      message: `warning: the broker ${facts.host} is reached without TLS: the MQTT password and every summary cross the network in clear`,
    },
  ];
}
