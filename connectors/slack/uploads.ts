// Sharing a file into a Slack channel with Slack's external upload flow
// (https://docs.slack.dev/messaging/working-with-files#upload):
//  1. files.getUploadURLExternal reserves a file id and an upload_url
//     (https://docs.slack.dev/reference/methods/files.getUploadURLExternal);
//  2. the bytes are POSTed to upload_url: "Files can be sent as raw bytes …; Slack will return HTTP 200
//     if the upload is successful; a non-200 response indicates a failure" (same page);
//  3. files.completeUploadExternal shares the file into the channel as one message whose text is
//     initial_comment (https://docs.slack.dev/reference/methods/files.completeUploadExternal).
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectorPermanentError, ConnectorRateLimitedError, ConnectorTransientError } from "../errors.ts";
import type { SendResult, UploadRequest } from "../types.ts";
import { CallDeadline } from "../http.ts";
import { SlackBodyEncoding, failedRequest, retryAfterMsFrom } from "./api.ts";
import type { SlackAnswer, SlackApiOptions } from "./api.ts";
import type { SlackSelf } from "./events.ts";
import { encodeExternalId, encodeFileExternalId, isSlackId, isSlackTs } from "./ids.ts";

/** The slowest transfer we wait for, in bytes per second, on top of the call timeout. */
export const UPLOAD_MIN_BYTES_PER_SECOND = 1024 * 1024;
/** Clocks differ: an earlier attempt's message is never older than that attempt's start minus this. */
const CLOCK_MARGIN_MS = 5 * 60 * 1000;
/** How far back an earlier attempt may have landed when this process did not see it start. */
const UNKNOWN_START_LOOKBACK_MS = 24 * 60 * 60 * 1000;
/**
 * Waits before asking files.info for the sharing message, in ms. Slack shares asynchronously, so the
 * complete call's answer often lacks `shares` (https://github.com/slackapi/bolt-js/issues/2115).
 */
const SHARE_POLL_DELAYS_MS = [0, 300, 1000] as const;
/** First-attempt times remembered at most; the oldest go first. */
const MAX_REMEMBERED_ATTEMPTS = 10_000;

/** What the uploader needs of the connector: its calls, its history search, its bot's identity. */
export interface UploadDeps {
  /** One Web API call with the bot token; the connector keeps its health in step with the answer. */
  call(
    method: string,
    args: Readonly<Record<string, unknown>>,
    signal: AbortSignal | undefined,
    encoding?: SlackBodyEncoding,
  ): Promise<SlackAnswer>;
  /**
   * The ts of the first message in `channel` (or in the thread `threadTs`) since `sinceMs` that
   * `pick` accepts; null when none does.
   */
  findMessage(
    channel: string,
    threadTs: string | null,
    sinceMs: number,
    pick: (message: Readonly<Record<string, unknown>>) => boolean,
    signal: AbortSignal | undefined,
  ): Promise<string | null>;
  /** The bot's ids, asking Slack (auth.test) when they are not known yet. */
  self(signal: AbortSignal | undefined): Promise<SlackSelf>;
  api: SlackApiOptions;
  botToken: string;
  /** ms since the epoch. */
  now(): number;
}

export class SlackUploader {
  readonly #deps: UploadDeps;
  readonly #firstAttempts = new FirstAttempts();

  constructor(deps: UploadDeps) {
    this.#deps = deps;
  }

  /** Shares `request`'s file into its channel, as a reply in `threadTs` when not null. */
  async upload(
    request: UploadRequest,
    threadTs: string | null,
    signal: AbortSignal | undefined,
  ): Promise<SendResult> {
    const { channel } = request;
    if (request.maybeSent) {
      const earlier = await this.#findEarlier(request, threadTs, signal);
      if (earlier !== null) {
        return { externalId: encodeExternalId(channel, earlier.ts), cloudFileId: earlier.fileId };
      }
    }
    this.#firstAttempts.note(request.fileId, request.maybeSent, this.#deps.now());

    // Form-encoded as Slack's SDKs send it: JSON bodies have been reported to earn invalid_arguments here.
    const reserved = await this.#deps.call(
      "files.getUploadURLExternal",
      { filename: request.filename, length: request.size },
      signal,
      SlackBodyEncoding.form,
    );
    const slackFileId = reserved.file_id;
    if (!isSlackId(slackFileId) || typeof reserved.upload_url !== "string") {
      // Nothing is shared yet, so trying again is harmless.
      throw new ConnectorTransientError(
        "Slack files.getUploadURLExternal answered ok without a file id or upload URL",
        null,
      );
    }
    const url = uploadUrlFrom(reserved.upload_url, this.#deps.api.baseUrl);
    if (url === null) {
      throw new ConnectorPermanentError(
        "Slack files.getUploadURLExternal named an upload URL outside the API's host; the file was not sent",
        null,
      );
    }

    await postFileBytes(
      {
        fetch: this.#deps.api.fetch,
        url,
        token: this.#deps.botToken,
        size: request.size,
        chunks: request.open(),
        timeoutMs: this.#deps.api.timeoutMs,
      },
      signal,
    );

    const completed = await this.#deps.call(
      "files.completeUploadExternal",
      {
        files: [{ id: slackFileId, title: request.title ?? request.filename }],
        channel_id: channel,
        ...(threadTs === null ? {} : { thread_ts: threadTs }),
        ...(request.comment === null || request.comment === "" ? {} : { initial_comment: request.comment }),
      },
      signal,
    );
    const ts = await this.#sharedTs(completed, slackFileId, channel, signal);
    this.#firstAttempts.forget(request.fileId);
    // Without the message's ts the file's own id stands in (see encodeFileExternalId).
    return {
      externalId: ts === null ? encodeFileExternalId(slackFileId) : encodeExternalId(channel, ts),
      cloudFileId: slackFileId,
    };
  }

  /**
   * The ts of a message an earlier attempt shared, found in the channel's history (or the thread's
   * replies) as a message of our bot carrying a file of the same name and size.
   *
   * Limits: Slack lets us tag neither the file nor its message, so this matches by name and size. A
   * second upload of an identical-looking file into the same place inside the window is taken for
   * this one (it would then not be posted again); a file Slack renamed is not found (it would be
   * posted twice); a share Slack has not finished yet (it shares asynchronously) is not seen. The
   * window starts at the first attempt when this process saw it, else 24 hours back; past 10,000
   * messages in that window the check gives up with a permanent error.
   */
  async #findEarlier(
    request: UploadRequest,
    threadTs: string | null,
    signal: AbortSignal | undefined,
  ): Promise<{ ts: string; fileId: string } | null> {
    const self = await this.#deps.self(signal);
    const startedMs =
      this.#firstAttempts.startedMs(request.fileId) ?? this.#deps.now() - UNKNOWN_START_LOOKBACK_MS;
    let fileId: string | null = null;
    const pick = (message: Readonly<Record<string, unknown>>): boolean => {
      // conversations.replies lists the thread's root too, which is not the reply we look for.
      if (message.ts === threadTs || !isOurs(message, self)) return false;
      fileId = matchingFileId(message, request.filename, request.size);
      return fileId !== null;
    };
    const ts = await this.#deps.findMessage(
      request.channel,
      threadTs,
      startedMs - CLOCK_MARGIN_MS,
      pick,
      signal,
    );
    return ts === null || fileId === null ? null : { ts, fileId };
  }

  /** The ts of the message sharing `slackFileId` in `channel`, from the answer or files.info; null when unknown. */
  async #sharedTs(
    completed: SlackAnswer,
    slackFileId: string,
    channel: string,
    signal: AbortSignal | undefined,
  ): Promise<string | null> {
    const files = Array.isArray(completed.files) ? (completed.files as unknown[]) : [];
    const ts = shareTs(
      files.find((file) => record(file)?.id === slackFileId),
      channel,
    );
    if (ts !== null) return ts;
    for (const delayMs of SHARE_POLL_DELAYS_MS) {
      try {
        if (delayMs > 0) await sleep(delayMs, undefined, { signal });
        const info = await this.#deps.call("files.info", { file: slackFileId }, signal);
        const polled = shareTs(info.file, channel);
        if (polled !== null) return polled;
      } catch {
        // The file is shared already; only its message's ts is missing, and the fallback id says so.
        return null;
      }
    }
    return null;
  }
}

/** The file's bytes, streamed to Slack's upload URL. */
export interface BytesUpload {
  fetch: typeof globalThis.fetch;
  url: URL;
  token: string;
  /** Bytes announced in step 1; the stream must have exactly this many. */
  size: number;
  chunks: AsyncIterable<Uint8Array>;
  /** The connector's per-call timeout, in ms; the transfer gets more time for its size. */
  timeoutMs: number;
}

/**
 * POSTs the bytes as they are read, never holding the whole file: the body is a stream pulled one
 * chunk at a time. Any failure is transient (the bytes may be sent again under a new file id).
 */
export async function postFileBytes(upload: BytesUpload, signal?: AbortSignal): Promise<void> {
  const timeoutMs = uploadTimeoutMs(upload.timeoutMs, upload.size);
  const deadline = new CallDeadline(timeoutMs, signal);
  const source = new MeteredSource(upload.chunks, upload.size);
  try {
    let response: Response;
    try {
      response = await upload.fetch(upload.url, {
        method: "POST",
        headers: {
          // As Slack's own SDK does; the URL is checked to be Slack's before we come here.
          authorization: `Bearer ${upload.token}`,
          // Raw bytes; Slack finds the type from the name and the bytes, so request.contentType is not sent.
          "content-type": "application/octet-stream",
          "content-length": String(upload.size),
        },
        body: source.stream,
        duplex: "half",
        redirect: "manual",
        signal: deadline.signal,
      });
    } catch (err) {
      if (source.fault !== null) throw new ConnectorTransientError(source.fault, null, { cause: err });
      throw failedRequest("file upload", timeoutMs, deadline, signal, err);
    }
    await response.body?.cancel().catch(() => undefined);
    if (response.status === 429) {
      const retryAfterMs = retryAfterMsFrom(response.headers.get("retry-after"));
      throw new ConnectorRateLimitedError(
        `Slack file upload was rate limited (HTTP 429, retry after ${retryAfterMs} ms)`,
        retryAfterMs,
      );
    }
    if (response.status !== 200) {
      throw new ConnectorTransientError(`Slack file upload failed: HTTP ${response.status}`, response.status);
    }
  } finally {
    deadline.dispose();
    await source.close();
  }
}

/** The connector's timeout plus the time the bytes take at the slowest rate we accept, in ms. */
export function uploadTimeoutMs(timeoutMs: number, size: number): number {
  return timeoutMs + Math.ceil((size * 1000) / UPLOAD_MIN_BYTES_PER_SECOND);
}

/**
 * The upload URL when it points at Slack: the API's own origin, or https on the API's host or one
 * under it (https://slack.com/api/ hands out https://files.slack.com/upload/v1/…). Bytes and the
 * token go nowhere else.
 */
export function uploadUrlFrom(value: string, apiBaseUrl: string): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const api = new URL(apiBaseUrl);
  if (url.origin === api.origin) return url;
  const underApi = url.hostname === api.hostname || url.hostname.endsWith(`.${api.hostname}`);
  return url.protocol === "https:" && underApi && url.username === "" && url.password === "" ? url : null;
}

/** A chunk source as a lazily pulled stream that fails when it holds more or fewer bytes than announced. */
class MeteredSource {
  readonly stream: ReadableStream<Uint8Array>;
  /** Why the stream failed, safe to show; null while it has not. */
  fault: string | null = null;
  readonly #iterator: AsyncIterator<Uint8Array>;
  #done = false;

  constructor(chunks: AsyncIterable<Uint8Array>, size: number) {
    this.#iterator = chunks[Symbol.asyncIterator]();
    let sent = 0;
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await this.#iterator.next();
          } catch (err) {
            this.#done = true;
            this.fault = "reading the file's bytes failed";
            throw err;
          }
          if (next.done === true) {
            this.#done = true;
            if (sent === size) return controller.close();
            this.fault = `the file had ${sent} bytes, not the ${size} announced`;
            return controller.error(new RangeError(this.fault));
          }
          sent += next.value.byteLength;
          if (sent > size) {
            this.fault = `the file has more than the ${size} bytes announced`;
            return controller.error(new RangeError(this.fault));
          }
          controller.enqueue(next.value);
        },
        cancel: () => this.close(),
      },
      // Nothing is read ahead: a chunk is pulled only when the request is ready to send it.
      { highWaterMark: 0 },
    );
  }

  /** Lets the source release what it holds (a file handle, a store's stream) when we stop early. */
  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#iterator.return?.()?.catch(() => undefined);
  }
}

/** Records when each file's first attempt began, for files whose first attempt this process made. */
class FirstAttempts {
  readonly #startedMs = new Map<string, number>();

  /** An attempt with `maybeSent` false is a first attempt: nothing of this file can be in Slack before it. */
  note(fileId: string, maybeSent: boolean, nowMs: number): void {
    if (maybeSent || this.#startedMs.has(fileId)) return;
    this.#startedMs.set(fileId, nowMs);
    if (this.#startedMs.size > MAX_REMEMBERED_ATTEMPTS) {
      const oldest = this.#startedMs.keys().next();
      if (oldest.done !== true) this.#startedMs.delete(oldest.value);
    }
  }

  startedMs(fileId: string): number | undefined {
    return this.#startedMs.get(fileId);
  }

  forget(fileId: string): void {
    this.#startedMs.delete(fileId);
  }
}

/**
 * The ts of the newest share of `file` in `channel`, from a file object's `shares`
 * ({public|private: {channel: [{ts, …}]}}, https://docs.slack.dev/reference/objects/file-object).
 */
function shareTs(file: unknown, channel: string): string | null {
  const shares = record(record(file)?.shares);
  if (shares === null) return null;
  let newest: string | null = null;
  for (const visibility of [shares.public, shares.private]) {
    const entries = record(visibility)?.[channel];
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      const ts = record(entry)?.ts;
      if (isSlackTs(ts) && (newest === null || Number(ts) > Number(newest))) newest = ts;
    }
  }
  return newest;
}

function isOurs(message: Readonly<Record<string, unknown>>, self: SlackSelf): boolean {
  return (
    (self.userId !== null && message.user === self.userId) ||
    (self.botId !== null && message.bot_id === self.botId)
  );
}

/** The id of the message's file with this name and size, or null. */
function matchingFileId(
  message: Readonly<Record<string, unknown>>,
  name: string,
  size: number,
): string | null {
  const files = Array.isArray(message.files) ? (message.files as unknown[]) : [];
  const file = files.map(record).find((f) => f?.name === name && f.size === size);
  return typeof file?.id === "string" ? file.id : null;
}

function record(value: unknown): Readonly<Record<string, unknown>> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}
