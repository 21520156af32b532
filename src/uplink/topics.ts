/** MQTT topics of one gateway. Ids are validated by the config schema (no wildcards, no spaces). */
export const summaryTopic = (prefix: string, site: string, gateway: string): string => `${prefix}/${site}/${gateway}/summary`;

/** Retained `online` / `offline`; the broker publishes `offline` itself (last will) if the gateway vanishes. */
export const stateTopic = (prefix: string, site: string, gateway: string): string => `${prefix}/${site}/${gateway}/state`;

/** One compact SenML health message per window (bus errors, store, drops, clock), when the policy allows it. */
export const healthTopic = (prefix: string, site: string, gateway: string): string => `${prefix}/${site}/${gateway}/health`;
