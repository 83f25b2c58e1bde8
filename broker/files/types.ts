// Shapes shared by the on-prem file store, the inspection and the routes.
import type { Readable } from "node:stream";

/** Where file bytes live on-prem. Keys are file ids; the caller never reuses a key for other bytes. */
export interface ObjectStore {
  readonly kind: "nats" | "s3";
  /**
   * Streams `body` into the object `key`. Resolves once every byte is durable; when `body` errors
   * or `signal` aborts, rejects and leaves no object (nor any part of one) behind.
   */
  put(key: string, body: Readable, options?: { size?: number; signal?: AbortSignal }): Promise<void>;
  /** The object's bytes as a stream; `ObjectNotFoundError` when there is none. */
  get(key: string, signal?: AbortSignal): Promise<Readable>;
  /** Removes the object; nothing to remove is not an error. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  override name = "ObjectNotFoundError";
  constructor(readonly key: string) {
    super(`no stored object '${key}'`);
  }
}

/** What inspection found in a file's bytes. */
export interface Inspection {
  /** The media type found from the bytes, never the client's claim. */
  mediaType: string;
  /** True when the whole text could be extracted within the budgets. */
  inspectable: boolean;
  /** The extracted text when inspectable; null otherwise. */
  text: string | null;
  /** Why it is not inspectable (image, archive, encrypted, corrupt, over budget), or null. */
  reason: string | null;
}

export interface InspectionBudget {
  /** Files larger than this are not read for text (uninspectable). */
  maxBytes: number;
  /** Extracted text longer than this makes the file uninspectable (the scan would be partial). */
  maxTextChars: number;
  /** Extraction that takes longer than this makes the file uninspectable. */
  timeoutMs: number;
}
