// One call to a connector under the rate limits, and what its failure means for the message.
import {
  ConnectorPermanentError,
  ConnectorRateLimitedError,
  ConnectorTransientError,
  type Connector,
} from "../../connectors/index.ts";
import { redriveHeader } from "../dlq/index.ts";
import type { Delivery } from "../nats/pull.ts";
import { backoffDelay } from "./backoff.ts";
import type { RelayContext } from "./context.ts";
import { waitFor } from "./wait.ts";

/** A Retry-After longer than this is treated as this: the message must not sit for hours. */
const maxRetryAfterMs = 10 * 60 * 1000;
/** A rate-limit wait longer than this gives the message back to NATS instead of holding it. */
const maxInlineWaitMs = 60_000;
/** How many more 429s than other failures a message may meet before it is dead-lettered. */
const rateLimitedAttemptsFactor = 10;

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
  at: { key: string; channel: string; msg: Delivery; stopping: AbortSignal },
  call: (maybeSent: boolean) => Promise<T>,
): Promise<AttemptOutcome<T>> {
  const { msg } = at;
  const wait = relay.limiter.reserve(connector.kind, connector.rateLimits, at.channel);
  if (wait > maxInlineWaitMs) {
    // Handed back: the token is not used now, and the next delivery reserves its own.
    relay.limiter.refund(connector.kind, connector.rateLimits, at.channel, wait);
    msg.nak(wait);
    return { kind: "retry" };
  }
  if (wait > 0 && !(await waitFor(wait, at.stopping))) {
    relay.limiter.refund(connector.kind, connector.rateLimits, at.channel, wait);
    msg.nak();
    return { kind: "retry" };
  }
  // A redelivery after a crash, or a redriven dead letter, may follow a send that landed; our
  // own failures in this process say for sure.
  const maybeSent = relay.attempts.maybeSent(
    at.key,
    msg.info.deliveryCount > 1 || msg.headers?.has(redriveHeader) === true,
  );
  try {
    const value = await call(maybeSent).finally(() =>
      relay.limiter.answered(connector.kind, connector.rateLimits, at.channel),
    );
    relay.attempts.forget(at.key);
    return { kind: "ok", value };
  } catch (error) {
    const reason = (error as Error).message;
    const rateLimited = error instanceof ConnectorRateLimitedError;
    const unknownOutcome = error instanceof ConnectorTransientError && !rateLimited;
    const counts = relay.attempts.failed(at.key, { unknownOutcome, rateLimited });
    const attempts = counts.failures + counts.rateLimited;
    if (
      error instanceof ConnectorPermanentError ||
      !(error instanceof ConnectorTransientError) ||
      counts.failures >= relay.maxAttempts ||
      // 429s only mean "later", but a cloud that never lets it through must not hold the partition.
      counts.rateLimited >= relay.maxAttempts * rateLimitedAttemptsFactor
    ) {
      relay.attempts.forget(at.key);
      const health = connector.health();
      if (!health.healthy) {
        relay.log.error({ connector: connector.kind, detail: health.detail }, "connector unhealthy");
      }
      return { kind: "failed", reason, attempts };
    }
    let delay = backoffDelay(Math.max(1, counts.failures), relay.backoff);
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
