// What the Slack connector's tests share (imported by *.test.ts only): a fake Slack per test, and
// a rejection check that also proves no secret leaked into the error.
import assert from "node:assert/strict";
import { startFakeSlack, type FakeSlack, type FakeSlackOptions } from "../../test/fakes/slack/index.ts";

export async function withFake<T>(
  run: (fake: FakeSlack) => Promise<T>,
  options: FakeSlackOptions = {},
): Promise<T> {
  // Generous limits: tests write several times per channel; the rate-limit tests force their 429s.
  const fake = await startFakeSlack({ perChannelPerSecond: 1000, perChannelBurst: 1000, ...options });
  try {
    return await run(fake);
  } finally {
    await fake.close();
  }
}

/**
 * Awaits a rejection of `errorClass` whose message holds none of the fake's tokens and signing
 * secret, nor any of `alsoSecret` (a test's message text, an upload URL).
 */
export async function rejectsWith<E extends Error>(
  fake: FakeSlack,
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => E,
  alsoSecret: readonly string[] = [],
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof errorClass, `expected ${errorClass.name}, got ${String(err)}`);
    for (const secret of [fake.botToken, fake.adminToken, fake.signingSecret, ...alsoSecret]) {
      assert.ok(!err.message.includes(secret), `a secret leaked into: ${err.message}`);
    }
    return err;
  }
  return assert.fail(`expected ${errorClass.name}, but the call succeeded`);
}

export function methodsCalled(fake: FakeSlack, method: string): number {
  return fake.calls().filter((call) => call.method === method).length;
}
