// An S3 endpoint for tests: s3rver on a free port of 127.0.0.1 over a fresh temporary directory,
// spoken to over real HTTP. s3rver 3.7 lacks AbortMultipartUpload and ListMultipartUploads; this
// helper answers those two from s3rver's own upload folders, so the cleanup of an aborted
// multipart upload can be exercised and checked.
import { S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import type { IncomingMessage, RequestListener, Server, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

interface S3rverOptions {
  address: string;
  /** 0 picks a free port. */
  port: number;
  silent: boolean;
  directory: string;
}
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer: Server;
}
// s3rver ships no types; this is the part of its API (README, lib/s3rver.js) the helper uses.
const S3rver = createRequire(import.meta.url)("s3rver") as new (options: S3rverOptions) => S3rverInstance;

/** s3rver's fixed credentials (README: "If your client only supports signed requests"). */
const accessKeyId = "S3RVER";
const secretAccessKey = "S3RVER";

export interface TestS3 {
  /** e.g. http://127.0.0.1:41234 */
  endpoint: string;
  region: string;
  /** A bucket name not created yet: the store under test creates it. */
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

export async function startS3rver(): Promise<TestS3> {
  const directory = await mkdtemp(path.join(tmpdir(), "ws-s3rver-"));
  const s3rver = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
  const { port } = await s3rver.run();
  const server = s3rver.httpServer;
  const s3rverHandler = server.listeners("request")[0] as RequestListener;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const answered = answerMultipartExtras(req, res, directory);
    if (answered)
      answered.catch((error: unknown) => reply(res, 500, errorXml("InternalError", String(error))));
    else s3rverHandler(req, res);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    bucket: "ws-files-test",
    accessKeyId,
    secretAccessKey,
    async close() {
      // Keep-alive sockets of a client not yet destroyed would hold close() open.
      server.closeAllConnections();
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * AbortMultipartUpload (`DELETE /bucket/key?uploadId=…`, 204 or 404 NoSuchUpload,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html) and
 * ListMultipartUploads (`GET /bucket?uploads`,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html), path-style only,
 * over s3rver's layout `<dir>/<bucket>/._S3rver_uploads/<uploadId>/{key,1,2,…}`. Returns null for
 * any other request. Signatures are not verified here; the credential must still be s3rver's.
 */
function answerMultipartExtras(
  req: IncomingMessage,
  res: ServerResponse,
  directory: string,
): Promise<void> | null {
  const url = new URL(req.url ?? "/", "http://s3rver");
  const [bucket = "", ...keyParts] = url.pathname.slice(1).split("/");
  const key = decodeURIComponent(keyParts.join("/"));
  const abort = req.method === "DELETE" && key !== "" && url.searchParams.has("uploadId");
  const list = req.method === "GET" && key === "" && url.searchParams.has("uploads");
  if (!abort && !list) return null;
  return (async () => {
    if (!(req.headers.authorization ?? "").includes(`Credential=${accessKeyId}/`)) {
      return reply(res, 403, errorXml("AccessDenied", "Access Denied"));
    }
    const uploads = path.join(directory, decodeURIComponent(bucket), "._S3rver_uploads");
    if (abort) {
      const uploadId = url.searchParams.get("uploadId") ?? "";
      const folder = path.join(uploads, uploadId);
      const known = /^[0-9a-f]+$/.test(uploadId) && (await exists(path.join(folder, "key")));
      if (!known || (await readFile(path.join(folder, "key"), "utf8")) !== key) {
        return reply(res, 404, errorXml("NoSuchUpload", "The specified upload does not exist."));
      }
      await rm(folder, { recursive: true, force: true });
      return reply(res, 204, "");
    }
    const entries = [];
    for (const uploadId of await readdir(uploads).catch(() => [] as string[])) {
      const keyFile = path.join(uploads, uploadId, "key");
      if (!(await exists(keyFile))) continue;
      const initiated = (await stat(keyFile)).mtime.toISOString();
      entries.push(
        `<Upload><Key>${escapeXml(await readFile(keyFile, "utf8"))}</Key><UploadId>${uploadId}</UploadId>` +
          `<Initiated>${initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
      );
    }
    return reply(
      res,
      200,
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
        `<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
        `<Bucket>${escapeXml(decodeURIComponent(bucket))}</Bucket><KeyMarker></KeyMarker>` +
        `<UploadIdMarker></UploadIdMarker><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
        `${entries.join("")}</ListMultipartUploadsResult>`,
    );
  })();
}

function reply(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, xml ? { "content-type": "application/xml" } : {});
  res.end(xml);
}

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** The broker's `files` settings for this endpoint, or for the default NATS store when null. */
export function filesSettings(s3: TestS3 | null) {
  if (!s3) return {};
  const { endpoint, region, bucket, accessKeyId, secretAccessKey } = s3;
  return { store: "s3" as const, s3: { endpoint, region, bucket, accessKeyId, secretAccessKey } };
}

/** An AWS SDK client of this endpoint, for tests that look into the bucket; destroy it after. */
export function s3Client(s3: TestS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}
