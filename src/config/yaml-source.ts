/**
 * The parsed YAML text kept beside the data, so that any field path can be mapped back to the line and
 * column a technician has to edit.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair, type YAMLError } from 'yaml';
import { formatPath, type ConfigIssue, type ConfigPath } from './errors.js';

export interface Position {
  line: number;
  col: number;
}

/** Alias expansion bound: a "billion laughs" file fails instead of exhausting memory. */
const MAX_ALIAS_COUNT = 100;

interface Step {
  /** The node reached, when the whole path exists. */
  node?: Node;
  /** The key of the last pair walked, when the path ended on a mapping entry. */
  key?: Node;
  /** The deepest node that exists along the path (the parent mapping of a missing key). */
  deepest: Node | undefined;
}

export class ConfigSource {
  private readonly lines = new LineCounter();
  private readonly doc: Document.Parsed;

  constructor(
    private readonly text: string,
    readonly file: string,
  ) {
    // merge: `<<: *anchor` lets a site share settings between devices.
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, merge: true, uniqueKeys: true });
  }

  /**
   * YAML errors (syntax, duplicate keys, several documents), each at its own line, in a technician's
   * words (the parser's speak of its own API), with the real field path around it: after a syntax error
   * the parser's guess of a key ("sim-soil profile") names no field, so the path stops before it.
   */
  yamlIssues(): ConfigIssue[] {
    const lines = new Set<number>();
    // A key indented too far reads as a value running over two lines: say that, not "nested mapping".
    const multiline = new Set(this.doc.errors.filter((e) => e.code === 'MULTILINE_IMPLICIT_KEY').map((e) => e.pos[0]));
    const errors = this.doc.errors.filter((e) => !(e.code === 'BLOCK_AS_IMPLICIT_KEY' && multiline.has(e.pos[0])));
    return errors.flatMap((error) => {
      const offset = this.offsetOf(error);
      const position = this.lines.linePos(offset);
      // One syntax error per line: the parser often reports one mistake twice in different words.
      if (error.code !== 'DUPLICATE_KEY' && lines.has(position.line)) return [];
      lines.add(position.line);
      const path = this.pathAtOffset(offset);
      const real = error.code === 'DUPLICATE_KEY' ? path : realPath(path);
      const message = error.code === 'DUPLICATE_KEY' ? `duplicate key "${String(path.at(-1))}" (each key may appear once per mapping)` : `YAML syntax: ${explainYamlError(error)}`;
      return [{ file: this.file, ...position, path: real.length === 0 ? '(yaml)' : formatPath(real), message }];
    });
  }

  /** Where to point: an unclosed quote is reported at the end of the file, the mistake is where it opens. */
  private offsetOf(error: YAMLError): number {
    const offset = error.pos[0];
    const quote = /Missing closing (["'])quote/.exec(error.message)?.[1];
    if (error.code !== 'MISSING_CHAR' || !quote) return offset;
    const opening = this.text.lastIndexOf(quote, Math.max(0, offset - 1));
    return opening < 0 ? offset : opening;
  }

  hasSyntaxErrors(): boolean {
    return this.doc.errors.some((e) => e.code !== 'DUPLICATE_KEY');
  }

  /** Plain JS data (aliases and merge keys resolved). */
  data(): unknown {
    return this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  }

  /**
   * Where to point for a field: the value node when present; its key when the value is empty;
   * the parent mapping when the key is missing. `target: 'key'` points at the key itself (unknown keys).
   */
  positionOf(path: ConfigPath, target: 'value' | 'key' = 'value'): Position {
    const step = this.walk(path);
    const valuePresent = step.node !== undefined && !isEmptyScalar(step.node);
    const chosen = target === 'key' || !valuePresent ? (step.key ?? step.node) : step.node;
    return this.startOf(chosen ?? step.deepest);
  }

  /** The field path of the deepest node containing the offset (to name the field of a YAML error). */
  pathAtOffset(offset: number): ConfigPath {
    const path: (string | number)[] = [];
    let node: Node | null | undefined = this.doc.contents;
    while (node) {
      node = this.resolve(node);
      const next: { segment: string | number; node: Node | null } | undefined = isMap(node)
        ? this.pairAt(node.items as Pair<Node, Node>[], offset)
        : isSeq(node)
          ? this.itemAt(node.items as Node[], offset)
          : undefined;
      if (!next) break;
      path.push(next.segment);
      node = next.node;
    }
    return path;
  }

  private pairAt(items: Pair<Node, Node>[], offset: number): { segment: string; node: Node | null } | undefined {
    for (const pair of items) {
      if (!isScalar(pair.key)) continue;
      if (contains(pair.key, offset)) return { segment: String(pair.key.value), node: null };
      if (pair.value && contains(pair.value, offset)) return { segment: String(pair.key.value), node: pair.value };
    }
    return undefined;
  }

  private itemAt(items: Node[], offset: number): { segment: number; node: Node } | undefined {
    const index = items.findIndex((item) => contains(item, offset));
    return index < 0 ? undefined : { segment: index, node: items[index]! };
  }

  private walk(path: ConfigPath): Step {
    let node: Node | undefined = this.doc.contents ?? undefined;
    let key: Node | undefined;
    let deepest = node;
    for (const segment of path) {
      node = node && this.resolve(node);
      if (!node) break;
      deepest = node;
      const found = this.child(node, segment);
      if (!found) return { deepest };
      node = found.value;
      key = found.key;
    }
    return { node, key, deepest: node ?? deepest };
  }

  /** The child at a segment; follows `<<` merge keys so merged fields still point somewhere useful. */
  private child(node: Node, segment: string | number): { key?: Node; value?: Node } | undefined {
    if (isSeq(node)) {
      const item = typeof segment === 'number' ? (node.items[segment] as Node | undefined) : undefined;
      return item ? { value: item } : undefined;
    }
    if (!isMap(node)) return undefined;
    const pairs = node.items as Pair<Node, Node>[];
    const pair = pairs.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
    if (pair) return { key: pair.key, value: pair.value ?? undefined };
    for (const merge of pairs.filter((p) => isMergeKey(p.key))) {
      const sources = isSeq(merge.value) ? (merge.value.items as Node[]) : merge.value ? [merge.value] : [];
      for (const source of sources) {
        const resolved = this.resolve(source);
        const found = resolved && this.child(resolved, segment);
        if (found) return found;
      }
    }
    return undefined;
  }

  private resolve(node: Node): Node | undefined {
    return isAlias(node) ? (node.resolve(this.doc) ?? undefined) : node;
  }

  private startOf(node: Node | undefined): Position {
    return node?.range ? this.lines.linePos(node.range[0]) : { line: 1, col: 1 };
  }
}

const contains = (node: Node, offset: number): boolean => !!node.range && node.range[0] <= offset && offset < Math.max(node.range[1], node.range[0] + 1);

/** With `merge: true` the parser turns the `<<` key's value into a symbol; its source text stays "<<". */
const isMergeKey = (key: Node | null): boolean => isScalar(key) && key.source === '<<';

/** `key:` with nothing after it parses to an empty null scalar; point at the key instead. */
const isEmptyScalar = (node: Node | undefined): boolean => isScalar(node) && node.value === null && (node.source === '' || node.source === undefined);

/** Segments up to the first that cannot be a key a technician wrote (the parser's guess after an error). */
function realPath(path: ConfigPath): ConfigPath {
  const end = path.findIndex((s) => typeof s === 'string' && !/^[A-Za-z0-9_<-][\w.-]*$/.test(s));
  return end < 0 ? path : path.slice(0, end);
}

/** The parser's message in a technician's words; never advice about the parser's API. */
function explainYamlError(error: YAMLError): string {
  switch (error.code) {
    case 'MULTIPLE_DOCS':
      return 'a second document starts here (---); a site config is one document: remove this line, or merge what follows into the first';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a "key:" follows a value on the same line; put each key on its own line (or quote a value that contains ": ")';
    case 'MULTILINE_IMPLICIT_KEY':
      return 'a key runs over two lines; check the indentation of this line and the next';
    case 'MISSING_CHAR':
      if (/Missing closing .quote/.test(error.message)) return 'this quoted text is never closed; add the closing quote';
      break;
  }
  return error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/;\s*please use \S+$/, '');
}
