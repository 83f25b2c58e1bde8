import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import fc from "fast-check";
import { backoffDelay } from "./backoff.ts";
import type { BackoffSettings } from "./backoff.ts";

const settings: BackoffSettings = { baseMs: 500, maxMs: 60_000 };

/** The cap of the delay before attempt `attempt + 1`: min(max, base * 2^(attempt-1)). */
function cap(attempt: number, { baseMs, maxMs }: BackoffSettings): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

describe("backoffDelay", () => {
  test("with no jitter the delay is half the cap, with full jitter the whole cap", () => {
    assert.equal(
      backoffDelay(1, settings, () => 0),
      250,
    );
    assert.equal(
      backoffDelay(1, settings, () => 0.999_999_9),
      500,
    );
    assert.equal(
      backoffDelay(2, settings, () => 0),
      500,
    );
    assert.equal(
      backoffDelay(3, settings, () => 0),
      1000,
    );
    assert.equal(
      backoffDelay(4, settings, () => 0.5),
      3000,
    );
  });

  test("doubles each attempt until the maximum, then stays there", () => {
    const lows = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((attempt) => backoffDelay(attempt, settings, () => 0));
    assert.deepEqual(lows, [250, 500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    assert.equal(
      backoffDelay(10_000, settings, () => 0.999_999_9),
      60_000,
    );
  });

  test("attempt 0 (or below) behaves like attempt 1", () => {
    assert.equal(
      backoffDelay(0, settings, () => 0),
      backoffDelay(1, settings, () => 0),
    );
    assert.equal(
      backoffDelay(-3, settings, () => 0.7),
      backoffDelay(1, settings, () => 0.7),
    );
  });

  test("uses Math.random by default and stays in bounds", () => {
    for (let i = 0; i < 1000; i++) {
      const delay = backoffDelay(5, settings);
      assert.ok(delay >= 4000 && delay <= 8000, String(delay));
    }
  });

  test("property: between half and all of min(max, base * 2^(n-1)), monotone in the jitter", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -2, max: 2000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, maxMs, r1, r2) => {
          const s = { baseMs, maxMs };
          const limit = cap(attempt, s);
          const delay = backoffDelay(attempt, s, () => r1);
          assert.ok(Number.isInteger(delay), `not an integer: ${delay}`);
          assert.ok(delay >= Math.floor(limit / 2), `${delay} < ${limit}/2`);
          assert.ok(delay <= limit, `${delay} > ${limit}`);
          assert.ok(delay <= maxMs);
          const [lo, hi] = r1 <= r2 ? [r1, r2] : [r2, r1];
          assert.ok(backoffDelay(attempt, s, () => lo) <= backoffDelay(attempt, s, () => hi));
        },
      ),
    );
  });

  test("property: the cap never decreases as attempts grow", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (attempt, baseMs, maxMs) => {
          const s = { baseMs, maxMs };
          assert.ok(backoffDelay(attempt, s, () => 0) <= backoffDelay(attempt + 1, s, () => 0));
        },
      ),
    );
  });
});
