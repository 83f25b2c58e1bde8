// A 512 MiB upload through a broker process, with each store: the broker streams it and its
// resident memory stays under 200 MB. Measured as the child process's peak RSS (VmHWM).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Api } from "../helpers/api.ts";
import { startChildBroker, testConfigInput, type ChildBroker } from "../helpers/broker.ts";
import { createTestKeys, type TestKeys } from "../helpers/keys.ts";
import { startS3rver, type TestS3 } from "../helpers/s3.ts";
import { createTestDatabase, deleteStreams, randomPrefix, type TestDatabase } from "../helpers/services.ts";

const fileBytes = 512 * 1024 * 1024;
const chunkBytes = 1024 * 1024;
const rssLimitBytes = 200 * 1000 * 1000;

/** Peak and current resident memory of a process, from /proc (Linux). */
async function memoryOf(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kib("VmHWM"), now: kib("VmRSS") };
}

/** 512 MiB made on the fly, never held: each 1 MiB chunk is filled with its index. */
function generatedBody(): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= fileBytes) {
        controller.close();
        return;
      }
      controller.enqueue(new Uint8Array(chunkBytes).fill(sent / chunkBytes));
      sent += chunkBytes;
    },
  });
}

for (const storeKind of ["nats", "s3"] as const) {
  describe(`a 512 MiB upload, ${storeKind} store`, () => {
    let db: TestDatabase;
    let keys: TestKeys;
    let s3: TestS3 | null = null;
    let broker: ChildBroker;
    const prefix = randomPrefix();

    before(async () => {
      db = await createTestDatabase();
      keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
      s3 = storeKind === "s3" ? await startS3rver() : null;
      broker = await startChildBroker(
        testConfigInput({
          databaseUrl: db.url,
          prefix,
          jwksFile: keys.jwksFile,
          overrides: {
            files: s3
              ? {
                  store: "s3",
                  s3: {
                    endpoint: s3.endpoint,
                    region: s3.region,
                    bucket: s3.bucket,
                    accessKeyId: s3.accessKeyId,
                    secretAccessKey: s3.secretAccessKey,
                  },
                }
              : {},
          },
        }),
        `broker-${storeKind}`,
      );
    });
    after(async () => {
      await broker?.kill();
      await s3?.close();
      await deleteStreams(prefix);
      await db?.drop();
    });

    test("is streamed: the broker's resident memory stays under 200 MB", async (t) => {
      const pid = broker.process.pid;
      assert.ok(pid);
      const api = new Api(broker.url, await keys.token("alice"));
      const conversationId = await api.createConversation({ title: "big file" });
      const before = await memoryOf(pid);
      const started = Date.now();
      const response = await fetch(`${broker.url}/v1/conversations/${conversationId}/files?name=big.bin`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${api.token}`,
          "content-type": "application/octet-stream",
          "content-length": String(fileBytes),
        },
        body: generatedBody(),
        duplex: "half",
      } as RequestInit);
      const body = (await response.json()) as { size: number; inspection: { inspectable: boolean } };
      assert.equal(response.status, 201, JSON.stringify(body));
      assert.equal(body.size, fileBytes);
      assert.equal(body.inspection.inspectable, false, "over the inspection budget: kept on-prem by policy");
      const seconds = (Date.now() - started) / 1000;
      const afterUpload = await memoryOf(pid);
      t.diagnostic(
        `${storeKind}: RSS before ${(before.now / 1e6).toFixed(0)} MB, peak ${(afterUpload.peak / 1e6).toFixed(0)} MB, ` +
          `${seconds.toFixed(1)} s (${(fileBytes / 1048576 / seconds).toFixed(0)} MiB/s)`,
      );
      assert.ok(afterUpload.peak < rssLimitBytes, `peak RSS ${afterUpload.peak} bytes`);
    });
  });
}
