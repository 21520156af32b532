import fc from 'fast-check';

/** Wire bytes of a latin1 string (test vectors are written as JS strings). */
export const latin1 = (text: string): Uint8Array => Buffer.from(text, 'latin1');

/** Splits bytes at the given sorted, distinct cut positions. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** Feeds chunks to anything with push() and concatenates the events. */
export function feed<E>(decoder: { push(chunk: Uint8Array): E[] }, chunks: readonly Uint8Array[]): E[] {
  return chunks.flatMap((c) => decoder.push(c));
}

/** Cut positions inside a buffer of the given length. */
export const arbCuts = (length: number): fc.Arbitrary<number[]> =>
  fc.uniqueArray(fc.integer({ min: 0, max: length }), { maxLength: 12 }).map((cuts) => cuts.sort((a, b) => a - b));

/** Arbitrary bytes, then arbitrary cuts of them. */
export const arbChunkedBytes = (maxLength = 600): fc.Arbitrary<Uint8Array[]> =>
  fc.uint8Array({ maxLength }).chain((bytes) => arbCuts(bytes.length).map((cuts) => splitAt(bytes, cuts)));

/** Events as plain JSON, so two decodings can be compared regardless of object identity. */
export const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
