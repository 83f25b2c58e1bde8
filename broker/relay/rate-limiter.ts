// Token buckets per connector and per cloud channel, so a burst queues instead of failing, and a
// 429's Retry-After holds back that channel for every partition of this process.
import type { RateLimit, RateLimits } from "../../connectors/index.ts";

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** No call before this time (a 429 said so). */
  blockedUntil: number;
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
}

/**
 * Added to every wait for a token: the cloud's bucket starts when our first call arrives, and a
 * later call that travels faster than the first would otherwise reach it a little early. 25 ms
 * was not enough on a machine whose cores were all busy (the first calls of a burst, opening
 * connections, reached the fake Slack late enough for a later call to be refused): 50 ms costs a
 * channel limited to one post a second 5 % of its rate.
 */
export const jitterMarginMs = 50;

export function createRateLimiter(now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, Bucket>();

  const bucket = (key: string, limit: RateLimit, at: number): Bucket => {
    let found = buckets.get(key);
    if (!found) {
      found = { tokens: limit.burst, updatedAt: at, blockedUntil: 0 };
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
    b.tokens -= 1;
    // A call that must wait waits the margin too, and the bucket counts it as spent then.
    if (b.tokens < 0) b.tokens -= (jitterMarginMs / 1000) * limit.perSecond;
    const debtWait = b.tokens >= 0 ? 0 : Math.ceil((-b.tokens / limit.perSecond) * 1000);
    return Math.max(debtWait, b.blockedUntil - at);
  };

  return {
    reserve(connector, limits, channel) {
      const at = now();
      const overall = take(connector, limits.overall, at);
      const perChannel = take(`${connector}\u0000${channel}`, limits.perChannel, at);
      return Math.max(overall, perChannel);
    },
    refund(connector, limits, channel, reservedWaitMs) {
      const at = now();
      const giveBack = (key: string, limit: RateLimit | null) => {
        if (limit === null) return;
        const b = bucket(key, limit, at);
        const margin = reservedWaitMs > 0 ? (jitterMarginMs / 1000) * limit.perSecond : 0;
        b.tokens = Math.min(limit.burst, b.tokens + 1 + margin);
      };
      giveBack(connector, limits.overall);
      giveBack(`${connector}\u0000${channel}`, limits.perChannel);
    },
    block(connector, channel, retryAfterMs) {
      const key = `${connector}\u0000${channel}`;
      const until = now() + retryAfterMs;
      const found = buckets.get(key);
      if (found) found.blockedUntil = Math.max(found.blockedUntil, until);
      else buckets.set(key, { tokens: 0, updatedAt: now(), blockedUntil: until });
    },
  };
}
