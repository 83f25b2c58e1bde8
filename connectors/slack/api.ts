// One Slack Web API call: a JSON POST with the token as a bearer, under a timeout, its failure mapped
// to the connector errors. Contract: https://docs.slack.dev/apis/web-api/ (JSON bodies, {ok, error}),
// 429 + Retry-After in seconds: https://docs.slack.dev/apis/web-api/rate-limits
import { CallDeadline, readBodyCapped } from "../http.ts";
import { ConnectorRateLimitedError, ConnectorTransientError } from "../errors.ts";
import { SlackErrorClass, SlackPermanentError, classifySlackError, slackErrorCode } from "./errors.ts";

/**
 * How a call's arguments travel (https://docs.slack.dev/apis/web-api/). JSON by default; form encoding
 * is what Slack's own SDKs send for every method, used where a JSON body is known to be misread.
 */
export const SlackBodyEncoding = {
  json: "json",
  form: "form",
} as const;
export type SlackBodyEncoding = (typeof SlackBodyEncoding)[keyof typeof SlackBodyEncoding];

/** What Slack sent back with `ok: true`. */
export type SlackAnswer = Readonly<Record<string, unknown>>;

export interface SlackApiOptions {
  /** Base URL ending in "/"; the method name is appended. */
  baseUrl: string;
  /** Per call, response body included, in milliseconds. */
  timeoutMs: number;
  fetch: typeof globalThis.fetch;
}

/** Used when a 429 has no usable Retry-After; Slack's chat.postMessage limit is about 1 per second. */
export const DEFAULT_RETRY_AFTER_MS = 1000;
/** A history page of 200 messages with blocks stays far below this; more is not an answer we read. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/**
 * Calls Web API `method` with `args` as its body (JSON unless `encoding` says form). Resolves with
 * the answer when Slack says `ok: true`; otherwise throws ConnectorTransientError,
 * ConnectorRateLimitedError or SlackPermanentError. Messages name the method, the HTTP status and
 * Slack's error code only.
 */
export async function callSlack(
  options: SlackApiOptions,
  token: string,
  method: string,
  args: Readonly<Record<string, unknown>>,
  signal?: AbortSignal,
  encoding: SlackBodyEncoding = SlackBodyEncoding.json,
): Promise<SlackAnswer> {
  const deadline = new CallDeadline(options.timeoutMs, signal);
  try {
    let response: Response;
    try {
      response = await options.fetch(new URL(method, options.baseUrl), {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type":
            encoding === SlackBodyEncoding.json
              ? "application/json; charset=utf-8"
              : "application/x-www-form-urlencoded",
        },
        body: encoding === SlackBodyEncoding.json ? JSON.stringify(args) : formBody(args),
        // A redirect could carry the bearer token to a host nobody configured.
        redirect: "manual",
        signal: deadline.signal,
      });
    } catch (err) {
      throw failedRequest(method, options.timeoutMs, deadline, signal, err);
    }
    return await readAnswer(method, response, options.timeoutMs, deadline, signal);
  } finally {
    deadline.dispose();
  }
}

async function readAnswer(
  method: string,
  response: Response,
  timeoutMs: number,
  deadline: CallDeadline,
  signal: AbortSignal | undefined,
): Promise<SlackAnswer> {
  const { status } = response;
  if (status === 429) {
    await response.body?.cancel().catch(() => undefined);
    const retryAfterMs = retryAfterMsFrom(response.headers.get("retry-after"));
    throw new ConnectorRateLimitedError(
      `Slack ${method} was rate limited (HTTP 429, retry after ${retryAfterMs} ms)`,
      retryAfterMs,
    );
  }
  if (status === 408 || status >= 500) {
    await response.body?.cancel().catch(() => undefined);
    throw new ConnectorTransientError(`Slack ${method} failed: HTTP ${status}`, status);
  }
  if (status >= 300 && status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new SlackPermanentError(
      `Slack ${method} answered a redirect (HTTP ${status}); configure the final apiBaseUrl`,
      status,
      null,
      false,
    );
  }

  let body: unknown;
  try {
    body = JSON.parse(await readBodyCapped(response, MAX_ANSWER_BYTES));
  } catch (err) {
    if (deadline.timedOut || signal?.aborted === true) {
      throw failedRequest(method, timeoutMs, deadline, signal, err);
    }
    body = undefined;
  }
  const rejected = status === 401 || status === 403;
  if (typeof body !== "object" || body === null || Array.isArray(body) || !("ok" in body)) {
    if (status >= 200 && status < 300) {
      // The request may have done its work: whoever retries must check first.
      throw new ConnectorTransientError(
        `Slack ${method} answered HTTP ${status} without a Slack answer`,
        status,
      );
    }
    throw new SlackPermanentError(`Slack ${method} failed: HTTP ${status}`, status, null, rejected);
  }
  const answer = body as Record<string, unknown>;
  if (answer.ok === true && status >= 200 && status < 300) return answer;

  const code = slackErrorCode(answer.error);
  const said = `Slack ${method} failed: ${code ?? "no readable error code"} (HTTP ${status})`;
  const kind = code === null ? SlackErrorClass.permanent : classifySlackError(code);
  switch (kind) {
    case SlackErrorClass.transient:
      throw new ConnectorTransientError(said, status);
    case SlackErrorClass.rateLimited: {
      const retryAfterMs = retryAfterMsFrom(response.headers.get("retry-after"));
      throw new ConnectorRateLimitedError(`${said}, retry after ${retryAfterMs} ms`, retryAfterMs);
    }
    case SlackErrorClass.credentials:
      throw new SlackPermanentError(said, status, code, true);
    case SlackErrorClass.permanent:
      throw new SlackPermanentError(said, status, code, rejected);
  }
}

/** Form fields as Slack's SDKs send them: scalars as text, anything structured as JSON. */
function formBody(args: Readonly<Record<string, unknown>>): string {
  const form = new URLSearchParams();
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined || value === null) continue;
    const scalar = typeof value === "string" || typeof value === "number" || typeof value === "boolean";
    form.set(key, scalar ? String(value) : JSON.stringify(value));
  }
  return form.toString();
}

/** The transient error for a request that got no answer; `method` names the call in the message. */
export function failedRequest(
  method: string,
  timeoutMs: number,
  deadline: CallDeadline,
  signal: AbortSignal | undefined,
  err: unknown,
): ConnectorTransientError {
  if (deadline.timedOut) {
    return new ConnectorTransientError(`Slack ${method} timed out after ${timeoutMs} ms`, null, {
      cause: err,
    });
  }
  if (signal?.aborted === true) {
    return new ConnectorTransientError(`Slack ${method} was aborted by the caller`, null, { cause: err });
  }
  return new ConnectorTransientError(`Slack ${method} failed: network error`, null, { cause: err });
}

/** Slack sends Retry-After as whole seconds; anything else falls back to one second. */
export function retryAfterMsFrom(header: string | null): number {
  if (header === null || !/^\s*\d{1,9}\s*$/.test(header)) return DEFAULT_RETRY_AFTER_MS;
  return Number(header.trim()) * 1000;
}
