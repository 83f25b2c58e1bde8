// A generic outbound webhook: POSTs each message as signed JSON to one receiver.
import { ConnectorPermanentError, ConnectorRateLimitedError, ConnectorTransientError } from "../errors.ts";
import { Capability } from "../types.ts";
import type {
  Connector,
  ConnectorDeps,
  ConnectorHealth,
  DeleteRequest,
  EditRequest,
  RateLimits,
  ReactRequest,
  SendRequest,
  SendResult,
} from "../types.ts";
import type { Binding, Message } from "../../policies/model.ts";
import type { WebhookConfig } from "./config.ts";
import { CallDeadline, readBodyCapped } from "../http.ts";
import { externalIdFrom, parseRetryAfterMs, redactedSnippet } from "./response.ts";
import { signWebhookPayload } from "./sign.ts";

export const WEBHOOK_KIND = "webhook";
/** Enough to find an `id` in a success answer; larger answers are not JSON we understand. */
const SUCCESS_BODY_MAX_BYTES = 64 * 1024;
/** Base cap for error bodies; it grows with what we sent, so an echo of it can be read whole and redacted. */
const ERROR_BODY_BASE_BYTES = 64 * 1024;

// Edits, deletes and reactions are delivered like messages: the receiver reads `kind` and `targetId`.
const capabilities: ReadonlySet<Capability> = new Set([
  Capability.idempotentSend,
  Capability.edits,
  Capability.deletes,
  Capability.reactions,
]);
/** A receiver of ours sets its own pace and answers 429 when it must. */
const rateLimits: RateLimits = { perChannel: null, overall: null };

export class WebhookConnector implements Connector {
  readonly kind = WEBHOOK_KIND;
  readonly capabilities = capabilities;
  readonly rateLimits = rateLimits;
  readonly sendsUnbound = true;
  readonly #config: WebhookConfig;
  readonly #deps: ConnectorDeps;
  /** Only the origin goes into messages: webhook URLs often carry a token in their path. */
  readonly #origin: string;
  #rejectedStatus: number | null = null;

  constructor(config: WebhookConfig, deps: ConnectorDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#origin = new URL(config.url).origin;
  }

  async send(request: SendRequest, signal?: AbortSignal): Promise<SendResult> {
    return this.#post(request.message, request.channel, signal);
  }

  async edit(request: EditRequest, signal?: AbortSignal): Promise<void> {
    await this.#post(request.message, request.channel, signal);
  }

  /** A retraction has no on-prem message to deliver; the receiver gets deletes by their author only. */
  async delete(request: DeleteRequest, signal?: AbortSignal): Promise<void> {
    if (request.message !== undefined) await this.#post(request.message, request.channel, signal);
  }

  async react(request: ReactRequest, signal?: AbortSignal): Promise<void> {
    await this.#post(request.message, request.channel, signal);
  }

  async checkHealth(): Promise<ConnectorHealth> {
    return this.health();
  }

  async #post(message: Message, channel: string, signal?: AbortSignal): Promise<SendResult> {
    const binding: Binding | null = channel === "" ? null : { connector: WEBHOOK_KIND, channel };
    const rawBody = JSON.stringify({ message, binding });
    const { timestamp, signature } = signWebhookPayload(
      this.#config.secret,
      this.#deps.now() / 1000,
      rawBody,
    );
    const deadline = new CallDeadline(this.#config.timeoutMs, signal);
    try {
      let response: Response;
      try {
        response = await this.#deps.fetch(this.#config.url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "idempotency-key": message.id,
            "x-watershed-timestamp": timestamp,
            "x-watershed-signature": signature,
          },
          body: rawBody,
          // A redirect would re-send (or drop) a signed body to a host nobody configured.
          redirect: "manual",
          signal: deadline.signal,
        });
      } catch (err) {
        throw this.#failure(err, deadline);
      }
      return await this.#answer(response, message, Buffer.byteLength(rawBody));
    } finally {
      deadline.dispose();
    }
  }

  health(): ConnectorHealth {
    if (this.#rejectedStatus !== null) {
      return {
        healthy: false,
        detail: `webhook receiver at ${this.#origin} rejected our credentials (HTTP ${this.#rejectedStatus})`,
      };
    }
    return { healthy: true, detail: `webhook receiver at ${this.#origin}: no credential rejection seen` };
  }

  async close(): Promise<void> {}

  async #answer(response: Response, message: Message, sentBytes: number): Promise<SendResult> {
    const { status } = response;
    if (status >= 200 && status < 300) {
      // The receiver has the message once it says 2xx; an unreadable body only costs us its id.
      const body = await readBodyCapped(response, SUCCESS_BODY_MAX_BYTES).catch(() => "");
      this.#rejectedStatus = null;
      return { externalId: externalIdFrom(body) ?? message.id };
    }

    const body = await readBodyCapped(response, ERROR_BODY_BASE_BYTES + 2 * sentBytes).catch(() => "");
    const text = message.text;
    // The receiver may echo the request, so the text is redacted both raw and JSON-escaped.
    const snippet = redactedSnippet(body, [this.#config.secret, text, JSON.stringify(text).slice(1, -1)]);
    const said = `webhook receiver at ${this.#origin} answered HTTP ${status}${snippet === "" ? "" : `: ${snippet}`}`;

    if (status === 429) {
      const retryAfterMs = parseRetryAfterMs(response.headers.get("retry-after"), this.#deps.now());
      throw new ConnectorRateLimitedError(`${said} (retry after ${retryAfterMs} ms)`, retryAfterMs);
    }
    if (status === 408 || status >= 500) {
      throw new ConnectorTransientError(said, status);
    }
    if (status === 401 || status === 403) {
      this.#rejectedStatus = status;
      throw new ConnectorPermanentError(
        `webhook receiver at ${this.#origin} rejected our credentials (HTTP ${status})`,
        status,
      );
    }
    if (status >= 300 && status < 400) {
      throw new ConnectorPermanentError(
        `${said}; redirects are not followed, configure the final URL`,
        status,
      );
    }
    throw new ConnectorPermanentError(said, status);
  }

  #failure(err: unknown, deadline: CallDeadline): ConnectorTransientError {
    if (deadline.timedOut) {
      return new ConnectorTransientError(
        `webhook POST to ${this.#origin} timed out after ${this.#config.timeoutMs} ms`,
        null,
        { cause: err },
      );
    }
    if (deadline.callerAborted) {
      return new ConnectorTransientError(`webhook POST to ${this.#origin} was aborted by the caller`, null, {
        cause: err,
      });
    }
    return new ConnectorTransientError(`webhook POST to ${this.#origin} failed: network error`, null, {
      cause: err,
    });
  }
}
