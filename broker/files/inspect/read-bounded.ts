// Reads a file's bytes into memory in two steps (a head to sniff, then the rest), never keeping more
// than the cap: the byte after it only proves the file is larger, and the source is closed then.
// The bytes go into one buffer, sized from the stored size when it is known, filled in place: the
// chunks are not kept and then joined, which would hold the file twice. Text needs no whole copy:
// after the head, it can be streamed on, chunk by chunk, with nothing kept.
import type { Readable } from "node:stream";
import type { Deadline } from "./deadline.ts";
import { InspectionReason, UninspectableError } from "./reasons.ts";

export type OpenBytes = () => AsyncIterable<Uint8Array> | Readable;

export interface BytesSoFar {
  /** Every byte kept so far, from the start of the file (a view of the reader's buffer, not a copy). */
  bytes: Uint8Array;
  /** True when the file has been read to its end. */
  ended: boolean;
  /** True when the file has more bytes than the cap (the bytes are the first `cap` of them). */
  overCap: boolean;
}

export class BoundedReader {
  readonly #deadline: Deadline;
  readonly #cap: number;
  /** The size the buffer is first made for: the stored size when it is within the cap, else 0. */
  readonly #expected: number;
  readonly #iterator: AsyncIterator<unknown>;
  #buffer = new Uint8Array(0);
  #kept = 0;
  #ended = false;
  #overCap = false;
  #closed = false;

  /**
   * Opens the source; `cap` is the most bytes ever kept. `expectedSize` (the stored size, in bytes)
   * sizes the buffer at once; a wrong one costs a copy when the bytes outgrow it, never a wrong result.
   */
  constructor(open: OpenBytes, cap: number, deadline: Deadline, expectedSize?: number) {
    this.#deadline = deadline;
    this.#cap = cap;
    const valid = Number.isSafeInteger(expectedSize) && (expectedSize ?? 0) > 0;
    this.#expected = valid && (expectedSize ?? 0) <= cap ? (expectedSize ?? 0) : 0;
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
        this.#keep(chunk.subarray(0, this.#cap - this.#kept));
        this.#overCap = true;
      } else {
        this.#keep(chunk);
      }
      await this.#deadline.pace(); // a source that is never slow (in memory, cached) still lets others run
    }
    if (this.#ended || this.#overCap) this.close();
    return { bytes: this.#buffer.subarray(0, this.#kept), ended: this.#ended, overCap: this.#overCap };
  }

  /**
   * The bytes kept so far, then the rest of the file chunk by chunk, none of it kept (the buffer is
   * let go); throws (too large) once more than the cap has come, and closes the source at the end.
   */
  async *stream(): AsyncGenerator<Uint8Array, void, undefined> {
    if (this.#overCap) throw new UninspectableError(InspectionReason.tooLarge);
    const kept = this.#buffer.subarray(0, this.#kept);
    this.#buffer = new Uint8Array(0);
    yield kept;
    try {
      for (let chunk = await this.#nextUnlessEnded(); chunk !== null; chunk = await this.#nextUnlessEnded()) {
        this.#kept += chunk.length; // counted, not kept
        if (this.#kept > this.#cap) {
          this.#overCap = true;
          throw new UninspectableError(InspectionReason.tooLarge);
        }
        yield chunk;
        await this.#deadline.pace();
      }
    } finally {
      this.close();
    }
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

  async #nextUnlessEnded(): Promise<Uint8Array | null> {
    if (this.#ended) return null;
    const chunk = await this.#next();
    if (chunk === null) this.#ended = true;
    return chunk;
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

  /** Copies `chunk` after the bytes kept; the chunk itself is not kept. */
  #keep(chunk: Uint8Array): void {
    const needed = this.#kept + chunk.length;
    if (needed > this.#buffer.length) {
      // Once to the expected size; past it (a stored size that was wrong), doubling up to the cap.
      const size = Math.min(this.#cap, Math.max(needed, this.#expected, this.#buffer.length * 2));
      const grown = new Uint8Array(size);
      grown.set(this.#buffer.subarray(0, this.#kept));
      this.#buffer = grown;
    }
    this.#buffer.set(chunk, this.#kept);
    this.#kept = needed;
  }
}
