// File bytes in a NATS JetStream object store bucket, `<PREFIX>_FILES`: the default store, needing
// no server beyond the NATS the broker already uses. Objects are split into chunk messages
// (`$O.<bucket>.C.<nuid>`) followed by one metadata message (`$O.<bucket>.M.<name>`), as NATS
// ADR-20 lays out; the stream behind the bucket is `OBJ_<bucket>`.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import {
  Base64UrlPaddedCodec,
  Objm,
  StorageType,
  type ObjectInfo,
  type ObjectStore as NatsBucket,
} from "@nats-io/obj";
import { ObjectNotFoundError, type ObjectStore } from "../types.ts";
import { abortReason, pullStream } from "./body.ts";

export interface NatsObjectStoreOptions {
  js: JetStreamClient;
  /** Deployment prefix (`nats.prefix`); the bucket is `<PREFIX>_FILES`. */
  prefix: string;
  /** Replicas of the bucket's stream: 1 on a single server, 3 in a cluster. @default 1 */
  replicas?: number;
  /** Chunks `get` fetches ahead of its reader (each at most `natsChunkBytes`). @default 8 */
  readAheadChunks?: number;
}

/**
 * Bytes per chunk message, in bytes: the library's default, below NATS's 1 MiB max_payload. `put`
 * holds at most one chunk plus one chunk of the body, and waits for each chunk's ack before reading on.
 */
export const natsChunkBytes = 128 * 1024;

/** How long `get` waits for the next chunks before calling the object corrupt, in milliseconds. */
const chunkWaitMs = 5_000;

export function filesBucket(prefix: string): string {
  return `${prefix.toUpperCase()}_FILES`;
}

/** The stream behind the bucket (the object store's `OBJ_` naming). */
export function filesBucketStream(prefix: string): string {
  return `OBJ_${filesBucket(prefix)}`;
}

/** The stored bytes do not add up to what the object's metadata says (missing chunk, wrong digest). */
export class ObjectCorruptError extends Error {
  override name = "ObjectCorruptError";
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`stored object '${key}' is corrupt: ${detail}`);
  }
}

/** Opens the bucket, creating it (file storage, `replicas`) when missing. */
export async function openNatsObjectStore(options: NatsObjectStoreOptions): Promise<ObjectStore> {
  const name = filesBucket(options.prefix);
  const bucket = await new Objm(options.js).create(name, {
    storage: StorageType.File,
    replicas: options.replicas ?? 1,
  });
  const jsm = await options.js.jetstreamManager();
  return new NatsObjectStore(options.js, jsm, bucket, {
    name,
    stream: filesBucketStream(options.prefix),
    readAheadChunks: options.readAheadChunks ?? 8,
  });
}

class NatsObjectStore implements ObjectStore {
  readonly kind = "nats" as const;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly bucket: NatsBucket,
    private readonly names: { name: string; stream: string; readAheadChunks: number },
  ) {}

  async put(
    key: string,
    body: Readable,
    options: { size?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) throw abortReason(signal);
    try {
      // On a read or publish error the library purges the chunks already written before rejecting.
      await this.bucket.put(
        { name: key, options: { max_chunk_size: natsChunkBytes } },
        pullStream(body, signal),
      );
    } catch (error) {
      // A metadata publish that timed out may still have landed: make sure no object is left.
      await this.delete(key).catch(() => {});
      throw signal?.aborted ? abortReason(signal) : error;
    }
    if (signal?.aborted) {
      await this.delete(key);
      throw abortReason(signal);
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted();
    const info = await this.bucket.info(key);
    if (info === null || info.deleted) throw new ObjectNotFoundError(key);
    return Readable.from(this.#chunks(info), { objectMode: false, ...(signal ? { signal } : {}) });
  }

  async delete(key: string): Promise<void> {
    // Writes a deletion marker and purges the chunks; nothing happens when there is no entry.
    await this.bucket.delete(key);
    // Drop the marker too, so deleted files leave no message behind.
    await this.jsm.streams.purge(this.names.stream, { filter: this.#metaSubject(key) });
  }

  async exists(key: string): Promise<boolean> {
    const info = await this.bucket.info(key);
    return info !== null && !info.deleted;
  }

  async close(): Promise<void> {
    // The NATS connection belongs to the caller.
  }

  /**
   * The library's own `get` enqueues every chunk as it arrives whatever the reader's pace; this reads
   * through an ordered consumer in batches of `readAheadChunks`, fetching more only once the reader
   * has taken the last batch, and checks the size and SHA-256 digest at the end.
   */
  async *#chunks(info: ObjectInfo): AsyncGenerator<Uint8Array> {
    const hash = createHash("sha256");
    let size = 0;
    let count = 0;
    if (info.chunks > 0) {
      const consumer = await this.js.consumers.get(this.names.stream, {
        filter_subjects: `$O.${this.names.name}.C.${info.nuid}`,
      });
      try {
        while (count < info.chunks) {
          const batch = await consumer.fetch({
            max_messages: Math.min(this.names.readAheadChunks, info.chunks - count),
            expires: chunkWaitMs,
          });
          const before = count;
          for await (const message of batch) {
            hash.update(message.data);
            size += message.data.length;
            count++;
            yield message.data;
          }
          if (count === before) {
            throw new ObjectCorruptError(info.name, `chunk ${count + 1} of ${info.chunks} is missing`);
          }
        }
      } finally {
        await consumer.delete().catch(() => false);
      }
    }
    if (size !== info.size) {
      throw new ObjectCorruptError(info.name, `read ${size} bytes, metadata says ${info.size}`);
    }
    if (!hash.digest().equals(Buffer.from(info.digest.replace(/^SHA-256=/, ""), "base64url"))) {
      throw new ObjectCorruptError(info.name, "SHA-256 digest mismatch");
    }
  }

  #metaSubject(key: string): string {
    return `$O.${this.names.name}.M.${Base64UrlPaddedCodec.encode(key)}`;
  }
}
