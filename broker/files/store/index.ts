// The on-prem file store, chosen by `files.store`: the NATS object store or an S3-compatible bucket.
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Config } from "../../config/index.ts";
import type { ObjectStore } from "../types.ts";
import { openNatsObjectStore } from "./nats.ts";
import { openS3ObjectStore } from "./s3.ts";

export { filesBucket, filesBucketStream, ObjectCorruptError } from "./nats.ts";
export type { NatsObjectStoreOptions } from "./nats.ts";
export type { S3ObjectStoreOptions, S3Settings } from "./s3.ts";
export { openNatsObjectStore, openS3ObjectStore };

export interface ObjectStoreDeps {
  /** JetStream client of the broker's connection (the NATS store only). */
  js: JetStreamClient;
  /** `nats.prefix`: the NATS bucket is `<PREFIX>_FILES`. */
  prefix: string;
  /** `nats.replicas`: replicas of the NATS bucket's stream. */
  replicas: number;
}

/** Opens the store `files.store` names, creating its bucket when missing. */
export async function openObjectStore(
  files: Pick<Config["files"], "store" | "s3">,
  deps: ObjectStoreDeps,
): Promise<ObjectStore> {
  switch (files.store) {
    case "nats":
      return openNatsObjectStore({ js: deps.js, prefix: deps.prefix, replicas: deps.replicas });
    case "s3":
      // The config schema refuses store s3 without an s3 section; this guards hand-built configs.
      if (files.s3 === undefined) throw new Error("files.store is s3 but files.s3 is not set");
      return openS3ObjectStore(files.s3);
  }
}
