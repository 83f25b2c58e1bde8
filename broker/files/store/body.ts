// The caller's Node body as the web stream both stores consume, read only as fast as they write.
import { addAbortSignal, type Readable } from "node:stream";

/**
 * Wraps `body` in a pull-driven web stream: each read of the store pulls one chunk from `body`
 * and nothing is read ahead (highWaterMark 0), so memory stays at what the store holds itself.
 * The body's own error (e.g. the caller's size limit) comes out of the read unchanged; an abort
 * of `signal` destroys the body, which fails the pending or next read.
 */
export function pullStream(body: Readable, signal?: AbortSignal): ReadableStream<Uint8Array> {
  if (signal) addAbortSignal(signal, body);
  const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(typeof next.value === "string" ? Buffer.from(next.value) : next.value);
      },
      async cancel() {
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/** The reason an aborted signal carries, as the error a store rejects with. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error("the operation was aborted"), { name: "AbortError" });
}
