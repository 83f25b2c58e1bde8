// Streaming the bytes of a file shared in Slack from its url_private_download. Slack serves it to a
// GET with the bot token as "Authorization: Bearer" when the token has files:read
// (https://docs.slack.dev/reference/objects/file-object ; the header rule:
// https://medium.com/slack-developer-blog/important-changes-to-files-in-the-web-api-eb38f2a9c1e7 ,
// the scope: https://api.slack.com/scopes/files:read). Without it Slack does not refuse with a status:
// it answers 200 with its HTML sign-in page (https://github.com/nlink-jp/scli/releases/tag/v1.7.2).
import { ConnectorPermanentError, ConnectorRateLimitedError, ConnectorTransientError } from "../errors.ts";
import type { InboundFile } from "../types.ts";
import { CallDeadline } from "../http.ts";
import { failedRequest, retryAfterMsFrom } from "./api.ts";
import type { SlackApiOptions } from "./api.ts";
import { SlackPermanentError } from "./errors.ts";
import { uploadTimeoutMs, uploadUrlFrom } from "./uploads.ts";

/** Redirects followed at most, each only to Slack's own hosts. */
export const MAX_DOWNLOAD_REDIRECTS = 2;
const WHAT = "file download";

export interface DownloadOptions {
  api: SlackApiOptions;
  /** The bot token, sent only to Slack's hosts. */
  token: string;
}

/**
 * Yields the bytes of `file` as they arrive, never holding the whole file. The URL and every redirect
 * must be on Slack's hosts (the rule upload URLs follow), else nothing is sent. Fails with
 * ConnectorPermanentError when Slack refuses (401 — also a SlackPermanentError that rejects the
 * credentials —, 403, 404, an HTML page) or sends more bytes than `file.size`; with
 * ConnectorRateLimitedError on 429; with ConnectorTransientError on 5xx, network errors, timeouts
 * (the connector's timeout plus one second per MiB) and a body that ends short.
 */
export async function* downloadSlackFile(
  options: DownloadOptions,
  file: InboundFile,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array, void, undefined> {
  const url = slackHostedUrl(file.url, options.api.baseUrl);
  if (url === null) {
    throw new ConnectorPermanentError(
      `the URL of Slack file ${file.id} is not on Slack's hosts; it was not fetched`,
      null,
    );
  }
  const timeoutMs = uploadTimeoutMs(options.api.timeoutMs, file.size);
  const deadline = new CallDeadline(timeoutMs, signal);
  try {
    const response = await openDownload(options, url, timeoutMs, deadline, signal);
    await checkAnswer(response, file);
    yield* exactBytes(response, file, timeoutMs, deadline, signal);
  } finally {
    deadline.dispose();
  }
}

/** The same rule as upload URLs: the API's origin, or https on its host or one under it. */
function slackHostedUrl(value: string, apiBaseUrl: string): URL | null {
  return uploadUrlFrom(value, apiBaseUrl);
}

/** GETs `url`, following up to MAX_DOWNLOAD_REDIRECTS redirects that stay on Slack's hosts. */
async function openDownload(
  options: DownloadOptions,
  first: URL,
  timeoutMs: number,
  deadline: CallDeadline,
  signal: AbortSignal | undefined,
): Promise<Response> {
  let url = first;
  for (let redirects = 0; ; redirects++) {
    let response: Response;
    try {
      response = await options.api.fetch(url, {
        method: "GET",
        headers: { authorization: `Bearer ${options.token}` },
        // Followed by hand below: fetch would carry the token to wherever a redirect points.
        redirect: "manual",
        signal: deadline.signal,
      });
    } catch (err) {
      throw failedRequest(WHAT, timeoutMs, deadline, signal, err);
    }
    if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
    await response.body?.cancel().catch(() => undefined);
    const next = redirectTarget(response.headers.get("location"), url, options.api.baseUrl);
    if (next === null) {
      throw new ConnectorPermanentError(
        `Slack ${WHAT} was redirected (HTTP ${response.status}) away from Slack's hosts; not followed`,
        response.status,
      );
    }
    if (redirects >= MAX_DOWNLOAD_REDIRECTS) {
      throw new ConnectorPermanentError(
        `Slack ${WHAT} was redirected more than ${MAX_DOWNLOAD_REDIRECTS} times`,
        response.status,
      );
    }
    url = next;
  }
}

function redirectTarget(location: string | null, from: URL, apiBaseUrl: string): URL | null {
  if (location === null) return null;
  try {
    return slackHostedUrl(new URL(location, from).href, apiBaseUrl);
  } catch {
    return null;
  }
}

/** Throws unless the answer is the file: a 200 that is not Slack's sign-in page, of the right length. */
async function checkAnswer(response: Response, file: InboundFile): Promise<void> {
  const { status } = response;
  if (status === 200) {
    const problem = notTheFile(response, file);
    if (problem === null) return;
    await response.body?.cancel().catch(() => undefined);
    throw new ConnectorPermanentError(`Slack ${WHAT} of ${file.id} failed: ${problem}`, status);
  }
  await response.body?.cancel().catch(() => undefined);
  if (status === 429) {
    const retryAfterMs = retryAfterMsFrom(response.headers.get("retry-after"));
    throw new ConnectorRateLimitedError(
      `Slack ${WHAT} was rate limited (HTTP 429, retry after ${retryAfterMs} ms)`,
      retryAfterMs,
    );
  }
  if (status === 408 || status >= 500) {
    throw new ConnectorTransientError(`Slack ${WHAT} failed: HTTP ${status}`, status);
  }
  if (status === 401) {
    throw new SlackPermanentError(
      `Slack ${WHAT} failed: the bot token was refused (HTTP 401)`,
      status,
      null,
      true,
    );
  }
  if (status === 403) {
    throw new SlackPermanentError(
      `Slack ${WHAT} of ${file.id} was refused (HTTP 403): the bot needs files:read and access to the file`,
      status,
      null,
      false,
    );
  }
  throw new SlackPermanentError(`Slack ${WHAT} of ${file.id} failed: HTTP ${status}`, status, null, false);
}

/** Why a 200 answer is not the file's bytes, or null when it may be. */
function notTheFile(response: Response, file: InboundFile): string | null {
  const type = (response.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  // An HTML file is served as HTML too; for it the length check below tells the page from the file.
  if (type === "text/html" && !/\.x?html?$/i.test(file.name)) {
    return "Slack answered a web page, not the file: the bot token probably lacks the files:read scope";
  }
  const length = response.headers.get("content-length");
  if (length !== null && /^\d+$/.test(length.trim()) && Number(length) !== file.size) {
    return `Slack announced ${length.trim()} bytes for a file of ${file.size}`;
  }
  return null;
}

/** The body's chunks as they come; fails past `file.size` bytes, or when the body ends short. */
async function* exactBytes(
  response: Response,
  file: InboundFile,
  timeoutMs: number,
  deadline: CallDeadline,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  let received = 0;
  if (response.body !== null) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const next = await reader.read().catch((err: unknown) => {
          throw failedRequest(WHAT, timeoutMs, deadline, signal, err);
        });
        if (next.done) break;
        received += next.value.byteLength;
        if (received > file.size) {
          throw new ConnectorPermanentError(
            `Slack ${WHAT} of ${file.id} sent more than the ${file.size} bytes the file has`,
            null,
          );
        }
        yield next.value;
      }
    } finally {
      // Also when the reader of our bytes stops early: the connection is released at once.
      await reader.cancel().catch(() => undefined);
    }
  }
  if (received < file.size) {
    throw new ConnectorTransientError(
      `Slack ${WHAT} of ${file.id} ended after ${received} of ${file.size} bytes`,
      null,
    );
  }
}
