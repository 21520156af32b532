/**
 * Passerelle nodes for Node-RED 4.1 (CommonJS, loaded with require). Flows reach the gateway only
 * through the bridge socket: readings and summaries in, on-demand reads through the line's scheduler,
 * writes of declared writable points, and values for declared virtual points. Never the uplink.
 */
import { BridgeClient, BridgeError, type ClientState } from './client';
import { globMatcher, splitMatch } from './glob';
import type { Msg, Node, NodeDef, RED } from './red';

interface GatewayNode extends Node {
  client: BridgeClient;
  /** In-nodes registered for events, with what each wants. */
  listeners: Set<EventListener>;
  refreshSubscription(): void;
}

interface EventListener {
  readonly readings: boolean;
  readonly summaries: boolean;
  readonly match: string[];
  onEvent(event: Record<string, unknown>): void;
}

const STATUS: Record<ClientState, { fill: 'green' | 'yellow' | 'red'; shape: 'dot' | 'ring'; text: string }> = {
  connected: { fill: 'green', shape: 'dot', text: 'connected' },
  connecting: { fill: 'yellow', shape: 'ring', text: 'connecting' },
  disconnected: { fill: 'red', shape: 'ring', text: 'disconnected' },
};

export = function register(RED: RED): void {
  RED.nodes.registerType('passerelle-gateway', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this as GatewayNode;
    const socket = (typeof def.socket === 'string' && def.socket) || RED.settings.passerelle?.socket;
    node.listeners = new Set();
    node.client = new BridgeClient(socket ?? '', 10_000);
    node.refreshSubscription = () => {
      const all = [...node.listeners];
      if (all.length === 0) return node.client.subscribe(undefined);
      const anyAll = all.some((l) => l.match.length === 0);
      node.client.subscribe({
        readings: all.some((l) => l.readings),
        summaries: all.some((l) => l.summaries),
        ...(anyAll ? {} : { match: [...new Set(all.flatMap((l) => l.match))] }),
      });
    };
    node.client.on('event', (e: Record<string, unknown>) => node.listeners.forEach((l) => l.onEvent(e)));
    node.client.on('problem', (text: string) => node.warn(text));
    if (!socket) node.error('no bridge socket: set it in this node, or run under Passerelle (settings.passerelle.socket)');
    else node.client.start();
    node.on('close', (_removed, done) => {
      node.client.stop();
      done();
    });
  });

  /** Links a node to its gateway config node and mirrors the connection state in its status. */
  function gatewayOf(node: Node, def: NodeDef): GatewayNode | undefined {
    const gateway = RED.nodes.getNode(String(def.gateway)) as GatewayNode | null;
    if (!gateway) {
      node.status({ fill: 'red', shape: 'ring', text: 'no gateway configured' });
      return undefined;
    }
    const show = (s: ClientState) => node.status(STATUS[s]);
    show(gateway.client.state);
    gateway.client.on('state', show);
    node.on('close', (_removed, done) => {
      gateway.client.off('state', show);
      done();
    });
    return gateway;
  }

  /** Runs one request for an input message: output the reply, or the error on msg.error and in the status. */
  function requestNode(type: string, build: (def: NodeDef, msg: Msg) => Record<string, unknown>, reply: (r: Record<string, unknown>, msg: Msg) => Msg | null) {
    RED.nodes.registerType(type, function (this: Node, def: NodeDef) {
      RED.nodes.createNode(this, def);
      const gateway = gatewayOf(this, def);
      this.on('input', (msg, send, done) => {
        if (!gateway) return done(new Error('no gateway configured'));
        gateway.client
          .request(build(def, msg))
          .then((r) => {
            this.status(STATUS.connected);
            const out = reply(r, msg);
            if (out) send(out);
            done();
          })
          .catch((e: unknown) => {
            const err = e instanceof BridgeError ? e : new BridgeError('E_BRIDGE', String(e));
            this.status(err.code === 'BUSY' ? { fill: 'yellow', shape: 'dot', text: 'BUSY' } : { fill: 'red', shape: 'dot', text: err.code });
            done(err); // a Catch node gets msg.error.code (BUSY, E_WRITE_NOT_ALLOWED, ...)
          });
      });
    });
  }

  const pick = (msg: Msg, key: string, def: NodeDef): unknown => (msg[key] !== undefined ? msg[key] : def[key] === '' ? undefined : def[key]);
  const num = (v: unknown): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

  requestNode(
    'passerelle read',
    (def, msg) =>
      def.mode === 'registers'
        ? { op: 'read-registers', bus: pick(msg, 'bus', def), unit: num(pick(msg, 'unit', def)), fn: num(pick(msg, 'fn', def)), address: num(pick(msg, 'address', def)), count: num(pick(msg, 'count', def)) }
        : { op: 'read', device: pick(msg, 'device', def), point: pick(msg, 'point', def) },
    (r, msg) =>
      r.values !== undefined
        ? { ...msg, payload: r.values }
        : { ...msg, topic: `${String(r.device)}.${String(r.point)}`, payload: r.value, ts: r.ts },
  );

  requestNode(
    'passerelle write',
    (def, msg) => ({ op: 'write', device: pick(msg, 'device', def), point: pick(msg, 'point', def), value: Number(msg.payload) }),
    (_r, msg) => msg,
  );

  requestNode(
    'passerelle point',
    (def, msg) => ({ op: 'point', device: pick(msg, 'device', def), point: pick(msg, 'point', def), value: Number(msg.payload), ...(typeof msg.ts === 'number' ? { ts: msg.ts } : {}) }),
    (_r, msg) => msg,
  );

  RED.nodes.registerType('passerelle in', function (this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const gateway = gatewayOf(this, def);
    if (!gateway) return;
    const match = splitMatch(def.match);
    const matchers = match.map(globMatcher);
    const wants = (key: string) => matchers.length === 0 || matchers.some((m) => m(key));
    const kind = typeof def.kind === 'string' ? def.kind : 'readings';
    const listener: EventListener = {
      readings: kind !== 'summaries',
      summaries: kind !== 'readings',
      match,
      onEvent: (e) => {
        if (e.event === 'reading' && listener.readings && wants(`${String(e.device)}.${String(e.point)}`)) {
          this.send({ topic: `${String(e.device)}.${String(e.point)}`, payload: e.value, reading: e });
        } else if (e.event === 'summary' && listener.summaries) {
          const points = (e.points as { device: string; point: string }[]).filter((p) => wants(`${p.device}.${p.point}`));
          if (points.length > 0) this.send({ topic: 'summary', payload: { ...e, points } });
        }
      },
    };
    gateway.listeners.add(listener);
    gateway.refreshSubscription();
    this.on('close', (_removed, done) => {
      gateway.listeners.delete(listener);
      gateway.refreshSubscription();
      done();
    });
  });
};
