// One large upload through a broker child process, with its resident memory read from /proc: shared
// by the streaming test (test/integration/files-memory.test.ts) and `npm run bench` (part 6).
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Api } from "./api.ts";
import { startChildBroker, testConfigInput, type ChildBroker } from "./broker.ts";
import { createTestKeys } from "./keys.ts";
import { filesSettings, startS3rver, type TestS3 } from "./s3.ts";
import { createTestDatabase, deleteStreams, randomPrefix } from "./services.ts";

/** The file stores a broker can keep bytes in (`files.store`). */
export const uploadStoreKinds = ["nats", "s3"] as const;
export type UploadStoreKind = (typeof uploadStoreKinds)[number];

const MiB = 1024 * 1024;
const chunkBytes = MiB;

/** Peak (VmHWM) and current (VmRSS) resident memory of a process in bytes, from /proc (Linux). */
export async function memoryOf(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kib("VmHWM"), now: kib("VmRSS") };
}

/**
 * `sizeBytes` made on the fly, never held: each 1 MiB chunk is filled with its index (mod 256);
 * the last chunk is cut short when the size is not a whole number of MiB.
 */
export function generatedBody(sizeBytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= sizeBytes) {
        controller.close();
        return;
      }
      const length = Math.min(chunkBytes, sizeBytes - sent);
      controller.enqueue(new Uint8Array(length).fill((sent / chunkBytes) % 256));
      sent += length;
    },
  });
}

export interface UploadThroughBrokerOptions {
  /** Where the broker keeps the bytes; "s3" starts an s3rver in this process. */
  storeKind: UploadStoreKind;
  /**
   * Size of the generated file, in bytes.
   * @default 536870912 (512 MiB)
   */
  sizeBytes?: number;
}

/** The broker's answer to the upload: a file record on 201, an error body otherwise. */
export interface UploadAnswer {
  size?: number;
  inspection?: { inspectable: boolean; reason?: string };
  [key: string]: unknown;
}

export interface UploadMemoryResult {
  storeKind: UploadStoreKind;
  /** Size of the file sent, in bytes. */
  sizeBytes: number;
  /** HTTP status of the upload (201 when the file was kept). */
  status: number;
  body: UploadAnswer;
  /** The broker's VmRSS just before the upload, in bytes. */
  rssBeforeBytes: number;
  /** The broker's VmHWM after the upload: its peak resident memory over its whole life, in bytes. */
  peakBytes: number;
  /** From the first byte sent to the answer, in seconds. */
  seconds: number;
}

/**
 * Starts a broker child process (`startChildBroker`, as `npm start` runs it) on a fresh database and
 * stream prefix with the given file store, creates a conversation, POSTs a generated file of
 * `sizeBytes` to `/v1/conversations/{id}/files` as one streamed request, reads the broker's memory,
 * and tears everything down (broker, s3rver, streams, database, keys), also when something failed.
 */
export async function uploadThroughBroker(options: UploadThroughBrokerOptions): Promise<UploadMemoryResult> {
  const { storeKind, sizeBytes = 512 * MiB } = options;
  const prefix = randomPrefix();
  const keysDir = await mkdtemp(join(tmpdir(), "ws-keys-"));
  const db = await createTestDatabase();
  let s3: TestS3 | null = null;
  let broker: ChildBroker | null = null;
  try {
    const keys = await createTestKeys(keysDir);
    s3 = storeKind === "s3" ? await startS3rver() : null;
    broker = await startChildBroker(
      testConfigInput({
        databaseUrl: db.url,
        prefix,
        jwksFile: keys.jwksFile,
        overrides: {
          files: filesSettings(s3),
        },
      }),
      `broker-${storeKind}`,
    );
    const pid = broker.process.pid;
    if (pid === undefined) throw new Error(`broker-${storeKind} has no process id`);
    const api = new Api(broker.url, await keys.token("alice"));
    const conversationId = await api.createConversation({ title: "big file" });
    const before = await memoryOf(pid);
    const started = performance.now();
    const response = await fetch(`${broker.url}/v1/conversations/${conversationId}/files?name=big.bin`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${api.token}`,
        "content-type": "application/octet-stream",
        "content-length": String(sizeBytes),
      },
      body: generatedBody(sizeBytes),
      duplex: "half",
    } as RequestInit).catch((error: unknown) => {
      // fetch says only "fetch failed"; the cause says why (e.g. the broker closed the socket).
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      throw new Error(`the upload to broker-${storeKind} failed: ${String(cause)}`, { cause: error });
    });
    const text = await response.text();
    const seconds = (performance.now() - started) / 1000;
    const after = await memoryOf(pid);
    return {
      storeKind,
      sizeBytes,
      status: response.status,
      body: parseAnswer(text),
      rssBeforeBytes: before.now,
      peakBytes: after.peak,
      seconds,
    };
  } finally {
    await broker?.kill();
    await s3?.close();
    await deleteStreams(prefix);
    await db.drop();
    await rm(keysDir, { recursive: true, force: true });
  }
}

function parseAnswer(text: string): UploadAnswer {
  try {
    return (text ? JSON.parse(text) : {}) as UploadAnswer;
  } catch {
    // Not JSON (a proxy's page, a cut-off answer): kept short for the failure message.
    return { text: text.slice(0, 200) };
  }
}
