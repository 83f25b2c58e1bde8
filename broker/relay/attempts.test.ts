import assert from "node:assert/strict";
import { test } from "node:test";
import { createAttempts } from "./attempts.ts";

test("an unknown outcome stays unknown until forgotten; a 429 alone says nothing was sent", () => {
  const attempts = createAttempts();
  assert.equal(attempts.maybeSent("m:slack", false), false);
  assert.equal(attempts.maybeSent("m:slack", true), true, "a redelivery with no history may follow a send");
  assert.equal(attempts.failed("m:slack", false), 1);
  assert.equal(attempts.maybeSent("m:slack", true), false, "our own 429: not sent");
  assert.equal(attempts.failed("m:slack", true), 2);
  assert.equal(attempts.failed("m:slack", false), 3);
  assert.equal(attempts.maybeSent("m:slack", true), true, "the timeout before still counts");
  attempts.forget("m:slack");
  assert.equal(attempts.maybeSent("m:slack", false), false);
});

test("forgetting a message id drops the entries of every connector", () => {
  const attempts = createAttempts();
  attempts.failed("m1:slack", true);
  attempts.failed("m1:webhook", true);
  attempts.failed("m10:slack", true);
  attempts.forget("m1");
  assert.equal(attempts.failed("m1:slack", false), 1);
  assert.equal(attempts.failed("m1:webhook", false), 1);
  assert.equal(attempts.failed("m10:slack", false), 2, "a longer id with the same prefix is kept");
});
