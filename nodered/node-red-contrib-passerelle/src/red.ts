/** The slice of Node-RED 4.1's node API these nodes use (Node-RED ships no typings). */
export interface NodeStatus {
  fill?: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape?: 'ring' | 'dot';
  text?: string;
}

export type Msg = Record<string, unknown> & { payload?: unknown; topic?: string };

export interface Node {
  id: string;
  on(event: 'input', handler: (msg: Msg, send: (m: Msg | (Msg | null)[]) => void, done: (err?: Error) => void) => void): void;
  on(event: 'close', handler: (removed: boolean, done: () => void) => void): void;
  status(s: NodeStatus): void;
  send(msg: Msg): void;
  error(err: unknown, msg?: Msg): void;
  warn(text: string): void;
  log(text: string): void;
}

export interface NodeDef {
  id: string;
  name?: string;
  [key: string]: unknown;
}

export interface RED {
  nodes: {
    createNode(node: unknown, def: NodeDef): void;
    registerType(type: string, ctor: (this: Node, def: NodeDef) => void): void;
    getNode(id: string): unknown;
  };
  /** Passerelle's Node-RED child sets `passerelle: { socket }` in its settings (nr-core). */
  settings: { passerelle?: { socket?: string } };
}
