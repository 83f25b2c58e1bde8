// File routes: upload into a conversation (streamed into the on-prem store, never buffered), and
// download for its members, checked against the SHA-256 recorded at upload.
import { createHash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type pg from "pg";
import type { Principal } from "../auth/index.ts";
import { selectConversation } from "../db/conversations.ts";
import { selectFile, type FileRecord } from "../db/files.ts";
import {
  FileBlockedError,
  FileIncompleteError,
  FileTooLargeError,
  takeInFile,
  type FileIntakeDeps,
} from "../files/intake.ts";
import type { Logger } from "../telemetry/log.ts";
import { ProblemError, ProblemType } from "./problems.ts";
import { ConversationParams, FileParams, UploadQuery } from "./schemas.ts";
import { parseParams } from "./validate.ts";

export interface FileApiDeps {
  pool: pg.Pool;
  files: FileIntakeDeps;
  log: Logger;
}

function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new ProblemError(ProblemType.unauthenticated);
  return request.principal;
}

/** What the API shows of a file: never its text. */
export function fileView(file: FileRecord) {
  return {
    id: file.id,
    conversationId: file.conversationId,
    name: file.name,
    size: file.size,
    sha256: file.sha256,
    mediaType: file.mediaType,
    declaredType: file.declaredType,
    uploadedBy: file.uploadedBy,
    inspection: { inspectable: file.inspectable, reason: file.inspectionReason },
    createdAt: file.createdAt,
  };
}

export function registerFileRoutes(app: FastifyInstance, deps: FileApiDeps): void {
  // The body is the file: this scope hands the raw request stream to the handler.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
    scope.post("/v1/conversations/:id/files", async (request, reply) => {
      const principal = principalOf(request);
      const { id } = parseParams(ConversationParams, request.params);
      const query = parseParams(UploadQuery, request.query);
      const conversation = await selectConversation(deps.pool, id);
      if (!conversation) throw new ProblemError(ProblemType.conversationNotFound);
      if (!conversation.members.some((m) => m.id === principal.id))
        throw new ProblemError(ProblemType.notMember);
      const length = request.headers["content-length"];
      const declaredSize = length === undefined ? null : Number(length);
      if (declaredSize !== null && declaredSize > deps.files.maxBytes) {
        // Refused before a byte is read; the connection closes so the rest is not sent.
        void reply.header("connection", "close");
        throw new ProblemError(ProblemType.fileTooLarge, `the limit is ${deps.files.maxBytes} bytes`);
      }
      try {
        const { file, created } = await takeInFile(deps.files, {
          conversation,
          uploadedBy: principal.id,
          name: query.name ?? "file",
          declaredType: request.headers["content-type"] ?? null,
          declaredSize: declaredSize !== null && Number.isSafeInteger(declaredSize) ? declaredSize : null,
          body: request.raw,
        });
        return reply
          .code(created ? 201 : 200)
          .header("location", `/v1/files/${file.id}`)
          .send(fileView(file));
      } catch (error) {
        throw uploadProblem(error, reply);
      }
    });
  });

  app.get("/v1/files/:id/info", async (request) => fileView(await visibleFile(deps, request)));

  app.get("/v1/files/:id", async (request, reply) => {
    const file = await visibleFile(deps, request);
    const body = await deps.files.store.get(file.id);
    const verifier = new DigestCheck(file.sha256, () =>
      deps.log.error({ fileId: file.id }, "stored file does not match its SHA-256; download cut off"),
    );
    body.once("error", (error) => verifier.destroy(error));
    // A client that goes away closes the verifier: the store's stream (a socket, a consumer) goes too.
    verifier.once("close", () => body.destroy());
    body.pipe(verifier);
    return reply
      .type(file.mediaType)
      .header("content-length", String(file.size))
      .header("content-disposition", contentDisposition(file.name))
      .header("x-content-type-options", "nosniff")
      .header("repr-digest", `sha-256=:${Buffer.from(file.sha256, "hex").toString("base64")}:`)
      .send(verifier);
  });
}

/** RFC 6266 with an ASCII fallback and an RFC 8187 UTF-8 name (encodeURIComponent leaves '()* bare). */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** The file, for a member of its conversation; a non-member learns nothing, not even that it exists. */
async function visibleFile(deps: FileApiDeps, request: FastifyRequest): Promise<FileRecord> {
  const principal = principalOf(request);
  const { id } = parseParams(FileParams, request.params);
  const file = await selectFile(deps.pool, id);
  if (!file) throw new ProblemError(ProblemType.fileNotFound);
  const conversation = await selectConversation(deps.pool, file.conversationId);
  if (!conversation?.members.some((m) => m.id === principal.id))
    throw new ProblemError(ProblemType.fileNotFound);
  return file;
}

/**
 * Passes bytes through and checks their SHA-256 at the end. The status line is gone by then, so
 * the last chunk is held back until the check: on a mismatch it is never sent, the transfer is cut
 * off, and the client sees an incomplete body, never wrong bytes as a whole file.
 */
class DigestCheck extends Transform {
  readonly #hash = createHash("sha256");
  readonly #expected: string;
  readonly #onMismatch: () => void;
  #held: Buffer | null = null;

  constructor(expected: string, onMismatch: () => void) {
    super();
    this.#expected = expected;
    this.#onMismatch = onMismatch;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    const previous = this.#held;
    this.#held = chunk;
    done(null, previous ?? undefined);
  }

  override _flush(done: TransformCallback): void {
    if (this.#hash.digest("hex") === this.#expected) {
      done(null, this.#held ?? undefined);
      return;
    }
    this.#onMismatch();
    done(new Error("stored file does not match its SHA-256"));
  }
}

function uploadProblem(error: unknown, reply: { header(name: string, value: string): unknown }): unknown {
  if (error instanceof FileTooLargeError) {
    reply.header("connection", "close");
    return new ProblemError(ProblemType.fileTooLarge, error.message);
  }
  if (error instanceof FileIncompleteError)
    return new ProblemError(ProblemType.uploadIncomplete, error.message);
  if (error instanceof FileBlockedError) return new ProblemError(ProblemType.fileBlocked, error.reason);
  return error;
}
