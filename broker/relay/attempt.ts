// One call to a connector under the rate limits, and what its failure means for the message.
import type { JsMsg } from "@nats-io/jetstream";
import {
  ConnectorPermanentError,
  ConnectorRateLimitedError,
  ConnectorTransientError,
  type Connector,
} from "../../connectors/index.ts";
import { backoffDelay } from "./backoff.ts";
import type { RelayContext } from "./context.ts";
import { waitWorking } from "./wait.ts";

/** A Retry-After longer than this is treated as this: the message must not sit for hours. */
const maxRetryAfterMs = 10 * 60 * 1000;
/** A rate-limit wait longer than this gives the message back to NATS instead of holding it. */
const maxInlineWaitMs = 60_000;

export type AttemptOutcome<T> =
  { kind: "ok"; value: T } | { kind: "retry" } | { kind: "failed"; reason: string; attempts: number };

/**
 * One call to a connector under the rate limits: waits for a token, then runs `call`. On a
 * transient failure it naks the message with backoff (honouring Retry-After) and returns
 * `retry`; on a permanent one, or after `maxAttempts`, returns `failed` for a dead letter.
 */
export async function attempt<T>(
  relay: RelayContext,
  connector: Connector,
  at: { key: string; channel: string; msg: JsMsg; stopping: AbortSignal },
  call: (maybeSent: boolean) => Promise<T>,
): Promise<AttemptOutcome<T>> {
  const { msg } = at;
  const wait = relay.limiter.reserve(connector.kind, connector.rateLimits, at.channel);
  if (wait > maxInlineWaitMs) {
    msg.nak(wait);
    return { kind: "retry" };
  }
  if (wait > 0 && !(await waitWorking(wait, msg, relay.ackWaitMs, at.stopping))) {
    msg.nak();
    return { kind: "retry" };
  }
  // A redelivery after a crash may follow a send that landed; our own failures say for sure.
  const maybeSent = relay.attempts.maybeSent(at.key, msg.info.deliveryCount > 1);
  try {
    const value = await call(maybeSent);
    relay.attempts.forget(at.key);
    return { kind: "ok", value };
  } catch (error) {
    const reason = (error as Error).message;
    const unknownOutcome =
      error instanceof ConnectorTransientError && !(error instanceof ConnectorRateLimitedError);
    const attempts = relay.attempts.failed(at.key, unknownOutcome);
    if (
      error instanceof ConnectorPermanentError ||
      !(error instanceof ConnectorTransientError) ||
      attempts >= relay.maxAttempts
    ) {
      relay.attempts.forget(at.key);
      const health = connector.health();
      if (!health.healthy) {
        relay.log.error({ connector: connector.kind, detail: health.detail }, "connector unhealthy");
      }
      return { kind: "failed", reason, attempts };
    }
    let delay = backoffDelay(attempts, relay.backoff);
    if (error instanceof ConnectorRateLimitedError) {
      const retryAfter = Math.min(error.retryAfterMs, maxRetryAfterMs);
      relay.limiter.block(connector.kind, at.channel, retryAfter);
      // Retry-After is honoured, but never below the backoff: "0" must not make a tight loop.
      delay = Math.max(delay, retryAfter);
    }
    relay.log.warn(
      { key: at.key, connector: connector.kind, attempts, delayMs: delay, reason },
      "relay attempt failed; will retry",
    );
    msg.nak(delay);
    return { kind: "retry" };
  }
}
