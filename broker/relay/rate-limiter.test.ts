import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { RateLimits } from "../../connectors/index.ts";
import { createRateLimiter, jitterMarginMs } from "./rate-limiter.ts";

const slackLike: RateLimits = { perChannel: { perSecond: 1, burst: 3 }, overall: null };

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

test("a burst up to the bucket size goes at once; the rest queues one per interval", () => {
  const time = clock();
  const limiter = createRateLimiter(time.now);
  const waits = Array.from({ length: 6 }, () => limiter.reserve("slack", slackLike, "C1"));
  // Each waiting call waits the margin too, and the bucket counts it: the margins add up.
  assert.deepEqual(
    waits,
    [0, 0, 0, 1, 2, 3].map((n) => n * (1000 + jitterMarginMs)),
  );
});

test("channels have their own buckets; the overall bucket spans them", () => {
  const time = clock();
  const limiter = createRateLimiter(time.now);
  const limits: RateLimits = { perChannel: { perSecond: 1, burst: 1 }, overall: { perSecond: 2, burst: 2 } };
  assert.equal(limiter.reserve("slack", limits, "C1"), 0);
  assert.equal(limiter.reserve("slack", limits, "C2"), 0);
  // C3 has a token of its own, but the overall bucket is empty: half a second at 2/s.
  assert.equal(limiter.reserve("slack", limits, "C3"), 500 + jitterMarginMs);
});

test("tokens come back with time, never above the burst", () => {
  const time = clock();
  const limiter = createRateLimiter(time.now);
  for (let i = 0; i < 3; i++) limiter.reserve("slack", slackLike, "C1");
  time.advance(60_000);
  const waits = Array.from({ length: 4 }, () => limiter.reserve("slack", slackLike, "C1"));
  assert.deepEqual(waits, [0, 0, 0, 1000 + jitterMarginMs]);
});

test("a 429 blocks that channel only, for its Retry-After", () => {
  const time = clock();
  const limiter = createRateLimiter(time.now);
  limiter.block("slack", "C1", 2000);
  assert.equal(limiter.reserve("slack", slackLike, "C1"), 2000);
  assert.equal(limiter.reserve("slack", slackLike, "C2"), 0);
  time.advance(2000);
  // The 429 said the cloud's bucket is empty; the call held back used the first token since.
  // (+1: the debt is rounded up to whole milliseconds after floating-point sums.)
  assert.ok(limiter.reserve("slack", slackLike, "C1") <= 2 * jitterMarginMs + 1);
  time.advance(3000);
  assert.equal(limiter.reserve("slack", slackLike, "C1"), 0, "a full bucket again");
});

test("a 429 also holds back a connector without limits of its own", () => {
  const time = clock();
  const limiter = createRateLimiter(time.now);
  const none: RateLimits = { perChannel: null, overall: null };
  assert.equal(limiter.reserve("webhook", none, ""), 0);
  limiter.block("webhook", "", 1500);
  assert.equal(limiter.reserve("webhook", none, ""), 1500);
});

test("property: calls made at their reserved times never exceed burst + rate x elapsed", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 10 }),
      fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 1, maxLength: 60 }),
      (perSecond, burst, gaps) => {
        const time = clock(0);
        const limiter = createRateLimiter(time.now);
        const limits: RateLimits = { perChannel: { perSecond, burst }, overall: null };
        const callTimes: number[] = [];
        for (const gap of gaps) {
          time.advance(gap);
          callTimes.push(time.now() + limiter.reserve("k", limits, "c"));
        }
        callTimes.sort((a, b) => a - b);
        // In any window [start, end], at most burst + rate * length calls (waits round up to whole ms).
        for (let i = 0; i < callTimes.length; i++) {
          for (let j = i; j < callTimes.length; j++) {
            const span = ((callTimes[j] as number) - (callTimes[i] as number) + 1) / 1000;
            assert.ok(j - i + 1 <= burst + Math.floor(span * perSecond + 1e-9) + 1e-9);
          }
        }
      },
    ),
    { numRuns: 1000 },
  );
});

test("a refunded reservation is as if it never was", () => {
  const time = clock();
  const limiter = createRateLimiter(time.now);
  for (let i = 0; i < 3; i++) limiter.reserve("slack", slackLike, "C1");
  const wait = limiter.reserve("slack", slackLike, "C1");
  assert.equal(wait, 1000 + jitterMarginMs);
  limiter.refund("slack", slackLike, "C1", wait);
  assert.equal(
    limiter.reserve("slack", slackLike, "C1"),
    1000 + jitterMarginMs,
    "the same wait again, not twice it",
  );
});

test("the first call of a full bucket restarts the refill when it is answered, not when it was reserved", () => {
  const time = clock();
  const limiter = createRateLimiter(time.now);
  const tenPerSecond = { overall: null, perChannel: { perSecond: 10, burst: 5 } };
  assert.equal(limiter.reserve("slack", tenPerSecond, "C1"), 0);
  // The first call took 300 ms to be answered (a new connection on a busy machine): the cloud's
  // bucket may have started only just now, so those 300 ms must not count as refill.
  time.advance(300);
  limiter.answered("slack", tenPerSecond, "C1");
  const waits = Array.from({ length: 5 }, () => limiter.reserve("slack", tenPerSecond, "C1"));
  assert.deepEqual(waits.slice(0, 4), [0, 0, 0, 0]);
  assert.ok(waits[4] !== undefined && waits[4] >= 100, `the sixth call waits ${waits[4]} ms`);
  // Later answers from a bucket that was not full change nothing.
  time.advance(1000);
  limiter.answered("slack", tenPerSecond, "C1");
  assert.equal(limiter.reserve("slack", tenPerSecond, "C1"), 0, "refilled meanwhile");
});
