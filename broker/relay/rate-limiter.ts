// Token buckets per connector and per cloud channel, so a burst queues instead of failing, and a
// 429's Retry-After holds back that channel for every partition of this process.
import type { RateLimit, RateLimits } from "../../connectors/index.ts";

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** No call before this time (a 429 said so). */
  blockedUntil: number;
  /** A call was taken from the full bucket and not answered yet (see `answered`). */
  startPending: boolean;
}

export interface RateLimiter {
  /**
   * Reserves one call on `channel` of `connector` and returns how long to wait before making it,
   * in milliseconds (0: now). A reservation that is not used is simply lost: limits err slow.
   */
  reserve(connector: string, limits: RateLimits, channel: string): number;
  /** Gives back a reservation that will not be used (the message was handed back to NATS). */
  refund(connector: string, limits: RateLimits, channel: string, reservedWaitMs: number): void;
  /** The cloud answered 429: nothing more to `channel` until `retryAfterMs` from now. */
  block(connector: string, channel: string, retryAfterMs: number): void;
  /**
   * A call on `channel` was answered (or failed). When it was the first from a full bucket, the
   * cloud's bucket started when it arrived, somewhere between our reservation and now, so ours
   * counts its refill from now: a first call slowed on its way (a new connection, a busy machine)
   * must not let the calls after it reach the cloud early.
   */
  answered(connector: string, limits: RateLimits, channel: string): void;
}

/**
 * Added to every wait for a token: a later call that travels faster than an earlier one would
 * otherwise reach the cloud's bucket a little early. 50 ms (it was 25) for a machine whose cores
 * are all busy; it costs a channel limited to one post a second 5 % of its rate.
 */
export const jitterMarginMs = 50;

const channelKey = (connector: string, channel: string) => `${connector}\u0000${channel}`;

/** The two buckets a call on `channel` draws from: the connector's overall one and the channel's. */
function bucketsOf(connector: string, limits: RateLimits, channel: string) {
  return [
    [connector, limits.overall],
    [channelKey(connector, channel), limits.perChannel],
  ] as const;
}

export function createRateLimiter(now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, Bucket>();

  const bucket = (key: string, limit: RateLimit, at: number): Bucket => {
    let found = buckets.get(key);
    if (!found) {
      found = { tokens: limit.burst, updatedAt: at, blockedUntil: 0, startPending: false };
      buckets.set(key, found);
    }
    found.tokens = Math.min(limit.burst, found.tokens + ((at - found.updatedAt) / 1000) * limit.perSecond);
    found.updatedAt = at;
    return found;
  };

  /** Takes a token, going into debt if need be; the debt is the wait. */
  const take = (key: string, limit: RateLimit | null, at: number): number => {
    if (limit === null) {
      const blocked = buckets.get(key)?.blockedUntil ?? 0;
      return Math.max(0, blocked - at);
    }
    const b = bucket(key, limit, at);
    if (b.tokens >= limit.burst) b.startPending = true;
    b.tokens -= 1;
    // A call that must wait waits the margin too, and the bucket counts it as spent then.
    if (b.tokens < 0) b.tokens -= (jitterMarginMs / 1000) * limit.perSecond;
    const debtWait = b.tokens >= 0 ? 0 : Math.ceil((-b.tokens / limit.perSecond) * 1000);
    return Math.max(debtWait, b.blockedUntil - at);
  };

  return {
    reserve(connector, limits, channel) {
      const at = now();
      return Math.max(...bucketsOf(connector, limits, channel).map(([key, limit]) => take(key, limit, at)));
    },
    refund(connector, limits, channel, reservedWaitMs) {
      const at = now();
      for (const [key, limit] of bucketsOf(connector, limits, channel)) {
        if (limit === null) continue;
        const b = bucket(key, limit, at);
        const margin = reservedWaitMs > 0 ? (jitterMarginMs / 1000) * limit.perSecond : 0;
        b.tokens = Math.min(limit.burst, b.tokens + 1 + margin);
      }
    },
    answered(connector, limits, channel) {
      const at = now();
      for (const [key, limit] of bucketsOf(connector, limits, channel)) {
        const b = limit === null ? undefined : buckets.get(key);
        if (!b?.startPending) continue;
        // No refill for the time the first call was on its way: ours restarts with the cloud's.
        b.updatedAt = Math.max(b.updatedAt, at);
        b.startPending = false;
      }
    },
    block(connector, channel, retryAfterMs) {
      const key = channelKey(connector, channel);
      const until = now() + retryAfterMs;
      const found = buckets.get(key);
      if (found) found.blockedUntil = Math.max(found.blockedUntil, until);
      else buckets.set(key, { tokens: 0, updatedAt: now(), blockedUntil: until, startPending: false });
    },
  };
}
