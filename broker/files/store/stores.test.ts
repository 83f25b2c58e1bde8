// The same cases against both file stores: the NATS object store on the real NATS server, and the
// S3 store against s3rver over real HTTP. "Leftovers" counts what a store holds for anyone to find:
// every message of the bucket's stream (NATS), or objects plus open multipart uploads (S3).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startS3rver } from "../../../test/helpers/s3.ts";
import { deleteStreams, natsUrl, randomPrefix } from "../../../test/helpers/services.ts";
import { ObjectNotFoundError, type ObjectStore } from "../types.ts";
import { filesBucket, filesBucketStream, openObjectStore } from "./index.ts";

const MiB = 1024 * 1024;
/** Each case ends well within this; a store that hangs fails instead of stalling the run. */
const bounded = { timeout: 30_000 };

interface Harness {
  store: ObjectStore;
  /** Opens a second store on the same bucket, as another broker instance would. */
  reopen(): Promise<ObjectStore>;
  leftovers(): Promise<number>;
  /** Read state kept on the server: the bucket stream's consumers (NATS); S3 keeps none. */
  readers(): Promise<number>;
  /** Writes something partial behind the store's back, to show `leftovers` would see it. */
  strayPartial(): Promise<void>;
  close(): Promise<void>;
}

let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

before(async () => {
  nc = await connect({ servers: natsUrl });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

after(async () => {
  await nc.close();
});

const harnesses = {
  async nats(): Promise<Harness> {
    const prefix = randomPrefix();
    const open = () => openObjectStore({ store: "nats" }, { js, prefix, replicas: 1 });
    const store = await open();
    return {
      store,
      reopen: open,
      leftovers: async () => (await jsm.streams.info(filesBucketStream(prefix))).state.messages,
      readers: async () => (await jsm.streams.info(filesBucketStream(prefix))).state.consumer_count,
      strayPartial: async () => {
        await js.publish(`$O.${filesBucket(prefix)}.C.stray`, new Uint8Array(10));
      },
      async close() {
        await store.close();
        await deleteStreams(prefix);
      },
    };
  },
  async s3(): Promise<Harness> {
    const s3 = await startS3rver();
    const settings = {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
    };
    const open = () => openObjectStore({ store: "s3", s3: settings }, { js, prefix: "unused", replicas: 1 });
    const store = await open();
    const client = new S3Client({ ...settings, credentials: settings });
    return {
      store,
      reopen: open,
      async leftovers() {
        const objects = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
        const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
        return (objects.KeyCount ?? 0) + (uploads.Uploads?.length ?? 0);
      },
      readers: async () => 0,
      strayPartial: async () => {
        await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: "stray" }));
      },
      async close() {
        client.destroy();
        await store.close();
        await s3.close();
      },
    };
  },
};

/** A body of `size` random bytes in 64 KiB chunks, hashed as it is produced. */
function generated(size: number, options: { failAt?: number; failure?: Error; onChunk?: () => void } = {}) {
  const hash = createHash("sha256");
  async function* chunks() {
    for (let sent = 0; sent < size;) {
      if (options.failAt !== undefined && sent >= options.failAt) throw options.failure;
      const chunk = randomBytes(Math.min(64 * 1024, size - sent));
      hash.update(chunk);
      sent += chunk.length;
      options.onChunk?.();
      yield chunk;
    }
  }
  return { body: Readable.from(chunks(), { objectMode: false }), digest: () => hash.digest("hex") };
}

async function digestOf(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), size };
}

function newKey(): string {
  return `file-${randomBytes(6).toString("hex")}`;
}

for (const kind of ["nats", "s3"] as const) {
  describe(`${kind} object store`, () => {
    let h: Harness;
    before(async () => {
      h = await harnesses[kind]();
    });
    after(async () => {
      await h?.close();
    });

    test("reports its kind, and a second instance opens the existing bucket", bounded, async () => {
      assert.equal(h.store.kind, kind);
      const key = newKey();
      await h.store.put(key, Readable.from([Buffer.from("kept")]));
      const second = await h.reopen();
      try {
        assert.equal(await second.exists(key), true);
        assert.equal((await digestOf(await second.get(key))).size, 4);
      } finally {
        await second.close();
      }
      await h.store.delete(key);
    });

    for (const size of [0, 5, 64 * MiB + 7]) {
      test(`round trip of ${size} bytes streamed from a generator`, bounded, async () => {
        const key = newKey();
        const { body, digest } = generated(size);
        await h.store.put(key, body, { size });
        assert.equal(await h.store.exists(key), true);
        const read = await digestOf(await h.store.get(key));
        assert.equal(read.size, size);
        assert.equal(read.sha256, digest());
        await h.store.delete(key);
      });
    }

    test("a 256 MiB put does not grow the process by the object's size", bounded, async () => {
      const key = newKey();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
      const timer = setInterval(sample, 10);
      try {
        await h.store.put(key, generated(256 * MiB, { onChunk: sample }).body);
      } finally {
        clearInterval(timer);
      }
      const grownMiB = Math.round((peak - baseline) / MiB);
      // A guard against whole-object buffering (which would add at least 256 MiB), not a speed test.
      assert.ok(grownMiB < 150, `RSS grew by ${grownMiB} MiB during the put`);
      await h.store.delete(key);
    });

    test("a reader that stops early or aborts releases what the read held", bounded, async () => {
      const key = newKey();
      await h.store.put(key, generated(8 * MiB).body);
      for await (const _chunk of await h.store.get(key)) break;
      const controller = new AbortController();
      const aborted = await h.store.get(key, controller.signal);
      aborted.once("data", () => controller.abort());
      await assert.rejects(digestOf(aborted), { name: "AbortError" });
      await h.store.delete(key);
      // The read's server-side state is released as its stream closes, asynchronously.
      for (let waited = 0; (await h.readers()) > 0 && waited < 2_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(await h.readers(), 0);
      await assert.rejects(h.store.get(key), ObjectNotFoundError);
    });

    test("get of a missing key rejects with ObjectNotFoundError", bounded, async () => {
      const key = newKey();
      await assert.rejects(h.store.get(key), (error: unknown) => {
        assert.ok(error instanceof ObjectNotFoundError, String(error));
        assert.equal(error.key, key);
        return true;
      });
      assert.equal(await h.store.exists(key), false);
    });

    test("delete removes the object, leaves nothing, and is idempotent", bounded, async () => {
      const baseline = await h.leftovers();
      const key = newKey();
      await h.store.put(key, generated(3 * MiB).body);
      assert.ok((await h.leftovers()) > baseline);
      await h.store.delete(key);
      await h.store.delete(key);
      await h.store.delete(newKey());
      assert.equal(await h.store.exists(key), false);
      await assert.rejects(h.store.get(key), ObjectNotFoundError);
      assert.equal(await h.leftovers(), baseline);
    });

    test(
      "a body that fails half-way rejects the put with its error and leaves nothing",
      bounded,
      async () => {
        const baseline = await h.leftovers();
        const key = newKey();
        const failure = new Error("the client went away");
        // 16 MiB in: several NATS chunks and several S3 parts are already written.
        const { body } = generated(32 * MiB, { failAt: 16 * MiB, failure });
        await assert.rejects(h.store.put(key, body), (error: unknown) => error === failure);
        assert.equal(await h.store.exists(key), false);
        assert.equal(await h.leftovers(), baseline);
      },
    );

    test("an abort while the body stalls half-way rejects the put and leaves nothing", bounded, async () => {
      const baseline = await h.leftovers();
      const key = newKey();
      const body = new PassThrough();
      const controller = new AbortController();
      const put = h.store.put(key, body, { signal: controller.signal });
      // Write 16 MiB as fast as the store takes it, then stall like a client that stopped sending.
      for (let sent = 0; sent < 16 * MiB; sent += 64 * 1024) {
        if (!body.write(randomBytes(64 * 1024))) await new Promise((resolve) => body.once("drain", resolve));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      controller.abort();
      await assert.rejects(put, { name: "AbortError" });
      assert.equal(await h.store.exists(key), false);
      assert.equal(await h.leftovers(), baseline);
    });

    test("an already aborted signal rejects before anything is written", bounded, async () => {
      const baseline = await h.leftovers();
      const key = newKey();
      await assert.rejects(h.store.put(key, generated(MiB).body, { signal: AbortSignal.abort() }), {
        name: "AbortError",
      });
      assert.equal(await h.store.exists(key), false);
      assert.equal(await h.leftovers(), baseline);
    });

    test("the leftover check sees a partial write (so the checks above can fail)", bounded, async () => {
      const baseline = await h.leftovers();
      await h.strayPartial();
      assert.equal(await h.leftovers(), baseline + 1);
    });
  });
}
