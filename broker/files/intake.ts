// Taking a file in, from an upload or a cloud: stream it into the on-prem store while hashing and
// counting, inspect it, let the policy refuse it (`block`), and record it. A row exists only for a
// file whose every byte is stored; anything that fails on the way leaves no object and no row.
import { createHash } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import type pg from "pg";
import { uuidv7 } from "uuidv7";
import type { Policy } from "../../policies/index.ts";
import type { Conversation } from "../../policies/model.ts";
import { insertFile, type FileRecord } from "../db/files.ts";
import { inTransaction } from "../db/pool.ts";
import { evaluationInput, fileInputOf, verdictOrFailClosed } from "../router/decide.ts";
import { objectBytes } from "./bytes.ts";
import { inspectFile } from "./inspect/index.ts";
import type { InspectionBudget, ObjectStore } from "./types.ts";

export interface FileIntakeDeps {
  pool: pg.Pool;
  store: ObjectStore;
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  budget: InspectionBudget;
  policy: () => Policy;
}

export interface IncomingFile {
  conversation: Conversation;
  uploadedBy: string;
  name: string;
  declaredType: string | null;
  /** The byte count the sender announced (Content-Length, a cloud's file size), if any. */
  declaredSize: number | null;
  body: Readable;
  signal?: AbortSignal;
  /**
   * Refuse a file the policy blocks. Off for files brought in from a cloud: they are there
   * already, so they are kept on-prem and the decision on their message retracts them.
   * @default true
   */
  enforceBlock?: boolean;
  /**
   * Set when the bytes could not be had (a cloud download refused or too large): the file is
   * recorded without them, as uninspectable for this reason, so the policy keeps it on-prem.
   */
  notBroughtIn?: string;
}

export class FileTooLargeError extends Error {
  override name = "FileTooLargeError";
  constructor(readonly maxBytes: number) {
    super(`the file is larger than the limit of ${maxBytes} bytes`);
  }
}

export class FileIncompleteError extends Error {
  override name = "FileIncompleteError";
}

export class FileBlockedError extends Error {
  override name = "FileBlockedError";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** Hashes and counts what flows through, and stops past the size limit. */
class Meter extends Transform {
  readonly #hash = createHash("sha256");
  readonly #maxBytes: number;
  bytes = 0;

  constructor(maxBytes: number) {
    super();
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#maxBytes) {
      done(new FileTooLargeError(this.#maxBytes));
      return;
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  digest(): string {
    return this.#hash.digest("hex");
  }
}

export async function takeInFile(
  deps: FileIntakeDeps,
  incoming: IncomingFile,
): Promise<{ file: FileRecord; created: boolean }> {
  const id = uuidv7();
  const meter = new Meter(deps.maxBytes);
  // The source's failure (a client gone mid-upload) must fail the store's read too.
  incoming.body.once("error", (error) => meter.destroy(error));
  incoming.body.once("aborted", () => meter.destroy(new FileIncompleteError("the upload was aborted")));
  incoming.body.pipe(meter);
  await deps.store.put(id, meter, {
    ...(incoming.declaredSize === null ? {} : { size: incoming.declaredSize }),
    ...(incoming.signal ? { signal: incoming.signal } : {}),
  });
  // Cleared only when the row that names the object is committed.
  let keep = false;
  try {
    if (incoming.declaredSize !== null && meter.bytes !== incoming.declaredSize) {
      throw new FileIncompleteError(
        `the upload ended after ${meter.bytes} of the ${incoming.declaredSize} bytes announced`,
      );
    }
    const size = meter.bytes;
    const sha256 = meter.digest();
    const inspection =
      incoming.notBroughtIn === undefined
        ? await inspectFile(() => objectBytes(deps.store, id), { name: incoming.name, size }, deps.budget)
        : {
            mediaType: "application/octet-stream",
            inspectable: false,
            text: null,
            reason: incoming.notBroughtIn,
          };
    const record = {
      id,
      conversationId: incoming.conversation.id,
      uploadedBy: incoming.uploadedBy,
      name: incoming.name,
      declaredType: incoming.declaredType,
      mediaType: inspection.mediaType,
      size,
      sha256,
      store: deps.store.kind,
      inspectable: inspection.inspectable,
      inspectionReason: inspection.reason,
    };
    if (incoming.enforceBlock !== false) {
      refuseIfBlocked(deps.policy(), incoming, { ...record, createdAt: "", text: inspection.text });
    }
    const result = await inTransaction(deps.pool, (client) =>
      // PostgreSQL cannot store NUL; it carries no meaning for the detectors either.
      insertFile(
        client,
        record,
        inspection.inspectable ? (inspection.text?.replaceAll("\u0000", "") ?? null) : null,
      ),
    );
    // When the conversation had these bytes already, the existing copy is the one kept.
    keep = result.created;
    return result;
  } finally {
    if (!keep) await deps.store.delete(id).catch(() => {});
  }
}

/** A rule with `block` on this file (the policy's own judgement of it alone) refuses the upload. */
function refuseIfBlocked(
  policy: Policy,
  incoming: IncomingFile,
  file: FileRecord & { text: string | null },
): void {
  const probe = {
    id: "00000000-0000-7000-8000-000000000000",
    sender: { id: incoming.uploadedBy, roles: [], groups: [], department: null },
    text: "",
    files: [fileInputOf(file.id, file)],
  };
  const { verdict } = verdictOrFailClosed(policy, evaluationInput(incoming.conversation, probe));
  if (verdict.actions.block) {
    throw new FileBlockedError(verdict.reason ?? `refused by the policy (${verdict.rules.join(", ")})`);
  }
}
