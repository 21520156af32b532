/** Config topics of one gateway; the ACL (deploy/mosquitto-acl.example) lets each gateway read only its own. */
export const cfgTopic = (prefix: string, gateway: string, leaf: 'desired' | 'head' | 'trust' | 'status' | 'req' | 'running'): string => `${prefix}/gw/${gateway}/cfg/${leaf}`;
