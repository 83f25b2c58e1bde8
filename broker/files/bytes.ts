// A stored object's bytes as an async iterable, opened lazily: what inspection and connectors read.
import type { ObjectStore } from "./types.ts";

export async function* objectBytes(store: ObjectStore, key: string): AsyncIterable<Uint8Array> {
  const stream = await store.get(key);
  for await (const chunk of stream) yield chunk as Uint8Array;
}
