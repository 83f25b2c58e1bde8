// Slack's per-channel limit on writes: "1 message per second per channel, short bursts allowed".
// https://docs.slack.dev/apis/web-api/rate-limits — over it, HTTP 429 with Retry-After in seconds.

export type RateLimitDecision = { limited: false } | { limited: true; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  /** ms since the epoch. */
  updatedAt: number;
}

interface ForcedLimit {
  /** Null matches every channel. */
  channel: string | null;
  remaining: number;
  retryAfterSeconds: number;
}

export interface RateLimiterOptions {
  /** Tokens regained per second. */
  perSecond: number;
  /** Bucket capacity. */
  burst: number;
  /** ms since the epoch. */
  now: () => number;
}

/** A token bucket per channel, plus 429s a test scheduled with `forceNext`. */
export class ChannelRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly forced: ForcedLimit[] = [];

  constructor(private readonly options: RateLimiterOptions) {
    if (!(options.perSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError("rate limits need perChannelPerSecond > 0 and perChannelBurst >= 1");
    }
  }

  forceNext(channel: string | null, count: number, retryAfterSeconds: number): void {
    if (count > 0) this.forced.push({ channel, remaining: count, retryAfterSeconds });
  }

  /** Takes one write from the channel's bucket; writes naming no channel are only subject to forced 429s. */
  take(channel: string | null): RateLimitDecision {
    const forced = this.forced.find((f) => f.channel === null || f.channel === channel);
    if (forced !== undefined) {
      forced.remaining -= 1;
      if (forced.remaining === 0) this.forced.splice(this.forced.indexOf(forced), 1);
      return { limited: true, retryAfterSeconds: forced.retryAfterSeconds };
    }
    if (channel === null) return { limited: false };

    const { perSecond, burst, now } = this.options;
    const at = now();
    const bucket = this.buckets.get(channel) ?? { tokens: burst, updatedAt: at };
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = at;
    this.buckets.set(channel, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { limited: false };
    }
    // Whole seconds until the bucket holds a token again, as Retry-After carries.
    return { limited: true, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) };
  }
}
