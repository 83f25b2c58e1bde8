// File bytes in an S3-compatible bucket (MinIO, Ceph RGW, AWS S3), streamed in multipart uploads.
import { addAbortSignal, Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Config } from "../../config/index.ts";
import { ObjectNotFoundError, type ObjectStore } from "../types.ts";
import { abortReason, pullStream } from "./body.ts";

/** The `files.s3` section of the configuration. */
export type S3Settings = NonNullable<Config["files"]["s3"]>;

export interface S3ObjectStoreOptions {
  /**
   * Bytes per multipart part, in bytes; S3 refuses parts under 5 MiB and uploads over 10,000 parts,
   * so a larger `size` given to `put` raises it for that upload. @default 5 MiB
   */
  partBytes?: number;
  /** Parts uploaded at once. @default 1 */
  queueSize?: number;
}

const minPartBytes = 5 * 1024 * 1024;
const maxParts = 10_000;

/**
 * Memory per `put`: the uploader holds `queueSize` parts in flight plus the part being filled (and
 * a copy of it while it is cut), so at most (queueSize + 2) × partBytes = 3 × 5 MiB = 15 MiB by
 * default, whatever the object's size. `get` streams the response body with the socket's
 * back-pressure.
 */
export async function openS3ObjectStore(
  settings: S3Settings,
  options: S3ObjectStoreOptions = {},
): Promise<ObjectStore> {
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
  });
  try {
    await ensureBucket(client, settings.bucket);
  } catch (error) {
    client.destroy();
    throw error;
  }
  return new S3ObjectStore(client, settings.bucket, {
    partBytes: Math.max(minPartBytes, options.partBytes ?? minPartBytes),
    // One part in flight: an on-prem store is near, and memory stays what the 512 MiB test holds to.
    queueSize: options.queueSize ?? 1,
  });
}

/** Creates the bucket when HeadBucket says it is missing (so keys without CreateBucket rights work). */
async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    // Another instance created it between our HeadBucket and CreateBucket.
    if (errorName(error) !== "BucketAlreadyOwnedByYou") throw error;
  }
}

class S3ObjectStore implements ObjectStore {
  readonly kind = "s3" as const;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly tuning: Required<S3ObjectStoreOptions>,
  ) {}

  async put(
    key: string,
    body: Readable,
    options: { size?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const { signal, size } = options;
    if (signal?.aborted) throw abortReason(signal);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: pullStream(body, signal) },
      partSize:
        size === undefined
          ? this.tuning.partBytes
          : Math.max(this.tuning.partBytes, Math.ceil(size / maxParts)),
      queueSize: this.tuning.queueSize,
      // On failure the uploader aborts the multipart upload itself, after its parts in flight end.
      leavePartsOnError: false,
    });
    // Our signal reaches the upload only through the body: Upload's own abort rejects before its
    // cleanup has run, while a failing body makes it abort the multipart upload and then reject.
    try {
      await upload.done();
    } catch (error) {
      await this.#discard(key, upload.uploadId).catch(() => {});
      throw signal?.aborted ? abortReason(signal) : error;
    }
    if (signal?.aborted) {
      await this.#discard(key, undefined);
      throw abortReason(signal);
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted();
    let body: unknown;
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
        signal ? { abortSignal: signal } : {},
      );
      body = output.Body;
    } catch (error) {
      if (isNotFound(error)) throw new ObjectNotFoundError(key);
      throw error;
    }
    if (!(body instanceof Readable)) throw new Error(`S3 GetObject '${key}' returned no Node stream`);
    return signal ? addAbortSignal(signal, body) : body;
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 whether or not the key existed.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** Leaves nothing of a failed or aborted upload: neither its parts nor a completed object. */
  async #discard(key: string, uploadId: string | undefined): Promise<void> {
    if (uploadId !== undefined) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
        .catch((error: unknown) => {
          // The uploader normally aborted it already.
          if (errorName(error) !== "NoSuchUpload") throw error;
        });
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

function errorName(error: unknown): string | undefined {
  return (error as { name?: string } | null)?.name;
}

/** GET answers NoSuchKey; a HEAD answer has no body, so the SDK names its 404 NotFound. */
function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === "NoSuchKey" || name === "NotFound";
}
