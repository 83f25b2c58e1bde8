// Reads a file's bytes into memory in two steps (a head to sniff, then the rest), never keeping more
// than the cap: the byte after it only proves the file is larger, and the source is closed then.
import type { Readable } from "node:stream";
import type { Deadline } from "./deadline.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";

export type OpenBytes = () => AsyncIterable<Uint8Array> | Readable;

export interface BytesSoFar {
  /** Every byte kept so far, from the start of the file. */
  bytes: Uint8Array;
  /** True when the file has been read to its end. */
  ended: boolean;
  /** True when the file has more bytes than the cap (the bytes are the first `cap` of them). */
  overCap: boolean;
}

export class BoundedReader {
  readonly #deadline: Deadline;
  readonly #cap: number;
  readonly #iterator: AsyncIterator<unknown>;
  readonly #chunks: Uint8Array[] = [];
  #kept = 0;
  #ended = false;
  #overCap = false;
  #closed = false;

  /** Opens the source; `cap` is the most bytes ever kept. */
  constructor(open: OpenBytes, cap: number, deadline: Deadline) {
    this.#deadline = deadline;
    this.#cap = cap;
    try {
      this.#iterator = (open() as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    } catch (error) {
      throw new UninspectableError(InspectionReason.readFailed, { cause: error });
    }
  }

  /** Reads on until `want` bytes (or the cap, or the end) are kept. */
  async readUpTo(want: number): Promise<BytesSoFar> {
    while (!this.#ended && !this.#overCap && this.#kept < Math.min(want, this.#cap + 1)) {
      const chunk = await this.#next();
      if (chunk === null) {
        this.#ended = true;
      } else if (this.#kept + chunk.length > this.#cap) {
        // A copy, so the rest of a large chunk is not kept alive by a view of it.
        if (this.#cap > this.#kept) this.#chunks.push(chunk.slice(0, this.#cap - this.#kept));
        this.#kept = this.#cap;
        this.#overCap = true;
      } else {
        this.#chunks.push(chunk);
        this.#kept += chunk.length;
      }
    }
    if (this.#ended || this.#overCap) this.close();
    return { bytes: this.#concat(), ended: this.#ended, overCap: this.#overCap };
  }

  /** Stops the source (destroys a Readable, returns a generator); never waits for a stuck one. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ended) return;
    try {
      Promise.resolve(this.#iterator.return?.()).catch(() => {});
    } catch {
      // A source that cannot be closed is left to the garbage collector.
    }
  }

  async #next(): Promise<Uint8Array | null> {
    let next: IteratorResult<unknown>;
    try {
      next = await this.#deadline.race(this.#iterator.next());
    } catch (error) {
      if (error instanceof UninspectableError) throw error;
      throw new UninspectableError(InspectionReason.readFailed, { cause: error });
    }
    if (next.done) return null;
    if (!(next.value instanceof Uint8Array)) throw new UninspectableError(InspectionReason.readFailed);
    return next.value;
  }

  #concat(): Uint8Array {
    if (this.#chunks.length === 1 && this.#chunks[0]) return this.#chunks[0];
    const bytes = new Uint8Array(this.#kept);
    let at = 0;
    for (const chunk of this.#chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    // Keep one piece from now on, so a second call does not copy everything again.
    this.#chunks.splice(0, this.#chunks.length, bytes);
    return bytes;
  }
}
