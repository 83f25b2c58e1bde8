// Sends signed Events API requests to the events URL, with Slack's retry headers and schedule.
// https://docs.slack.dev/apis/events-api — a request not answered 2xx within 3 s is retried up to
// three times (immediately, after 1 min, after 5 min) with X-Slack-Retry-Num and X-Slack-Retry-Reason,
// unless the answer carried "X-Slack-No-Retry: 1".
import { request as httpRequest } from "node:http";
import type { ClientRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { FakeSlackError } from "./errors.ts";
import { slackSignature } from "./signature.ts";
import { DeliveryFailure } from "./types.ts";
import type { DeliverOptions, DeliveryAttempt, DeliveryResult } from "./types.ts";

const MAX_RETRIES = 3;
const USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)";

export interface EventSenderOptions {
  signingSecret: string;
  autoRetry: boolean;
  /** Before retries 1..3, in ms. */
  retryDelaysMs: readonly number[];
  /** Wait for an answer, in ms. */
  timeoutMs: number;
  /** ms since the epoch. */
  now: () => number;
}

interface SendResult extends DeliveryResult {
  /** The receiver asked Slack not to retry. */
  noRetry: boolean;
}

export class EventSender {
  private url: string | null = null;
  private closed = false;
  private readonly attempts: DeliveryAttempt[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private readonly inFlight = new Set<ClientRequest>();
  private readonly sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  /** First attempts go out one after another, in the order things happened. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: EventSenderOptions) {}

  setUrl(url: string | null): void {
    this.url = url;
  }

  hasUrl(): boolean {
    return this.url !== null && !this.closed;
  }

  /** Delivers a new event; resolves with the first attempt (null when there is nowhere to send). */
  dispatch(payload: object, eventId: string): Promise<DeliveryResult | null> {
    const first = this.queue.then(() => (this.hasUrl() ? this.send(payload, {}, eventId) : null));
    this.queue = first.catch(() => undefined);
    const chain = first.then((result) =>
      result === null ? undefined : this.retry(payload, eventId, result),
    );
    this.track(chain.catch(() => undefined));
    return first.then((result) => (result === null ? null : publicResult(result)));
  }

  /** One request, as told: the test's own retries, forgeries and tampering. */
  async deliver(payload: object, options: DeliverOptions, eventId: string | null): Promise<DeliveryResult> {
    return publicResult(await this.send(payload, options, eventId));
  }

  history(): DeliveryAttempt[] {
    return this.attempts.map((attempt) => ({ ...attempt }));
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  close(): void {
    this.closed = true;
    for (const request of this.inFlight) request.destroy();
    for (const sleeper of this.sleeping) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
  }

  private async retry(payload: object, eventId: string, first: SendResult): Promise<void> {
    if (!this.options.autoRetry) return;
    let last = first;
    for (let retryNum = 1; retryNum <= MAX_RETRIES; retryNum += 1) {
      if (last.failure === null || last.noRetry) return;
      await this.sleep(this.options.retryDelaysMs[retryNum - 1] ?? 0);
      if (!this.hasUrl()) return;
      last = await this.send(payload, { retryNum, retryReason: last.failure }, eventId);
    }
  }

  private async send(payload: object, options: DeliverOptions, eventId: string | null): Promise<SendResult> {
    const url = this.url;
    if (url === null || this.closed) throw new FakeSlackError("no events URL to deliver to (setEventsUrl)");
    const body = JSON.stringify(payload);
    const timestamp = options.timestamp ?? Math.floor(this.options.now() / 1000);
    const signature = options.signature ?? slackSignature(this.options.signingSecret, timestamp, body);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "x-slack-request-timestamp": String(timestamp),
      "x-slack-signature": signature,
    };
    const retryReason =
      options.retryNum === undefined ? null : (options.retryReason ?? DeliveryFailure.httpError);
    if (options.retryNum !== undefined && retryReason !== null) {
      headers["x-slack-retry-num"] = String(options.retryNum);
      headers["x-slack-retry-reason"] = retryReason;
    }
    const at = this.options.now();
    const result = await this.post(url, headers, options.tamper === undefined ? body : options.tamper(body));
    this.attempts.push({
      eventId,
      retryNum: options.retryNum ?? 0,
      retryReason,
      status: result.status,
      failure: result.failure,
      at,
    });
    return result;
  }

  private post(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    return new Promise((resolve) => {
      const target = new URL(url);
      const send = target.protocol === "https:" ? httpsRequest : httpRequest;
      const request = send(target, {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        agent: false,
      });
      let settled = false;
      const finish = (result: SendResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inFlight.delete(request);
        resolve(result);
      };
      const timer = setTimeout(() => {
        finish({ status: null, body: "", failure: DeliveryFailure.httpTimeout, noRetry: false });
        request.destroy();
      }, this.options.timeoutMs);
      this.inFlight.add(request);
      request.on("response", (res) => {
        const status = res.statusCode ?? 0;
        const failure = status >= 200 && status < 300 ? null : DeliveryFailure.httpError;
        const noRetry = res.headers["x-slack-no-retry"] === "1";
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          finish({ status, body: Buffer.concat(chunks).toString("utf8"), failure, noRetry }),
        );
        res.on("error", () => finish({ status, body: "", failure, noRetry }));
      });
      request.on("error", () =>
        finish({ status: null, body: "", failure: DeliveryFailure.connectionFailed, noRetry: false }),
      );
      request.end(body);
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((wake) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleeping.delete(sleeper);
          wake();
        }, ms),
        wake,
      };
      this.sleeping.add(sleeper);
    });
  }

  private track(promise: Promise<unknown>): void {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise));
  }
}

function publicResult(result: SendResult): DeliveryResult {
  return { status: result.status, body: result.body, failure: result.failure };
}
