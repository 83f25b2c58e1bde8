import assert from "node:assert/strict";
import { test } from "node:test";
import { createAttempts } from "./attempts.ts";

const timeout = { unknownOutcome: true, rateLimited: false };
const rateLimited = { unknownOutcome: false, rateLimited: true };

test("an unknown outcome stays unknown until forgotten; 429s say nothing was sent and count apart", () => {
  const attempts = createAttempts();
  assert.equal(attempts.maybeSent("m:slack", false), false);
  assert.equal(attempts.maybeSent("m:slack", true), true, "a redelivery with no history may follow a send");
  assert.deepEqual(attempts.failed("m:slack", rateLimited), { failures: 0, rateLimited: 1 });
  assert.equal(attempts.maybeSent("m:slack", true), false, "our own 429: not sent");
  assert.deepEqual(attempts.failed("m:slack", timeout), { failures: 1, rateLimited: 1 });
  assert.deepEqual(attempts.failed("m:slack", rateLimited), { failures: 1, rateLimited: 2 });
  assert.equal(attempts.maybeSent("m:slack", true), true, "the timeout before still counts");
  attempts.forget("m:slack");
  assert.equal(attempts.maybeSent("m:slack", false), false);
});

test("forgetting a message id drops the entries of every connector", () => {
  const attempts = createAttempts();
  attempts.failed("m1:slack", timeout);
  attempts.failed("m1:webhook", timeout);
  attempts.failed("m10:slack", timeout);
  attempts.forget("m1");
  assert.equal(attempts.failed("m1:slack", timeout).failures, 1);
  assert.equal(attempts.failed("m1:webhook", timeout).failures, 1);
  assert.equal(attempts.failed("m10:slack", timeout).failures, 2, "a longer id with the same prefix is kept");
});
