// The batcher gathers concurrent calls into one run and answers each caller its own result.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { createBatcher } from "./batcher.ts";

/** A run that doubles each item after a turn of the event loop, recording the batches it saw. */
function doublingRun() {
  const batches: number[][] = [];
  const run = async (items: readonly number[]) => {
    batches.push([...items]);
    await new Promise((resolve) => setImmediate(resolve));
    return items.map((n) => n * 2);
  };
  return { batches, run };
}

test("calls made together share one run, and each gets its own answer", async () => {
  const { batches, run } = doublingRun();
  const double = createBatcher(run);
  assert.deepEqual(await Promise.all([1, 2, 3].map(double)), [2, 4, 6]);
  assert.deepEqual(batches, [[1, 2, 3]]);
});

test("calls made while a run is in progress wait for the next run, in call order", async () => {
  const { batches, run } = doublingRun();
  const double = createBatcher(run);
  const first = double(1);
  await Promise.resolve(); // the first run has started
  const later = [double(2), double(3)];
  assert.deepEqual(await Promise.all([first, ...later]), [2, 4, 6]);
  assert.deepEqual(batches, [[1], [2, 3]]);
});

test("no run holds more than maxBatch items, and every item is answered once", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 1, max: 40 }),
      async (n, maxBatch) => {
        const { batches, run } = doublingRun();
        const double = createBatcher(run, maxBatch);
        const items = Array.from({ length: n }, (_, i) => i);
        assert.deepEqual(
          await Promise.all(items.map(double)),
          items.map((i) => i * 2),
        );
        assert.ok(batches.every((b) => b.length <= maxBatch));
        assert.deepEqual(batches.flat(), items);
      },
    ),
    { numRuns: 50 },
  );
});

test("a failed run rejects its callers only; the next run goes ahead", async () => {
  let runs = 0;
  const flaky = createBatcher(async (items: readonly string[]) => {
    runs++;
    if (runs === 1) throw new Error("connection lost");
    return items.map((s) => s.toUpperCase());
  });
  const failed = Promise.allSettled([flaky("a"), flaky("b")]);
  await Promise.resolve();
  const next = flaky("c");
  assert.deepEqual(
    (await failed).map((r) => r.status),
    ["rejected", "rejected"],
  );
  assert.equal(await next, "C");
});

test("a run that answers the wrong number of results rejects its callers", async () => {
  const short = createBatcher(async (items: readonly number[]) => items.slice(1));
  await assert.rejects(Promise.all([short(1), short(2)]), /batch of 2 answered 1 results/);
});
