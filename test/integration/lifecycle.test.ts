// Start-up and shutdown edge cases: a broker closed right after it started stops promptly, and a
// database recreated under a NATS that kept its policy bucket seeds the policy again.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startBroker } from "../../broker/app.ts";
import { Api } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys, type TestKeys } from "../helpers/keys.ts";
import { createTestDatabase, deleteStreams, randomPrefix, type TestDatabase } from "../helpers/services.ts";

let keys: TestKeys;
const databases: TestDatabase[] = [];
const prefix = randomPrefix();

before(async () => {
  keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
});

after(async () => {
  await deleteStreams(prefix);
  for (const db of databases) await db.drop();
});

test("closing right after start stops within a few seconds", async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const broker = await startBroker(testConfig({ databaseUrl: db.url, prefix, jwksFile: keys.jwksFile }));
  const started = Date.now();
  await broker.close();
  assert.ok(Date.now() - started < 3000, `close took ${Date.now() - started} ms`);
});

test("a fresh database under the same NATS bucket starts with the seed policy again", async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const broker = await startBroker(testConfig({ databaseUrl: db.url, prefix, jwksFile: keys.jwksFile }));
  try {
    const admin = new Api(broker.url, await keys.token("sam", ["security-admin"]));
    const policy = await admin.request<{ active: { version: string; revision: number } }>(
      "GET",
      "/v1/policy",
    );
    assert.equal(policy.status, 200);
    assert.match(policy.body.active.version, /^default-/);
  } finally {
    await broker.close();
  }
});

test("an instance configured with another partition count than the streams refuses to start", async () => {
  const db = await createTestDatabase();
  databases.push(db);
  const eight = testConfig({ databaseUrl: db.url, prefix, jwksFile: keys.jwksFile });
  assert.equal(eight.nats.partitions, 8);
  const four = testConfig({
    databaseUrl: db.url,
    prefix,
    jwksFile: keys.jwksFile,
    overrides: { nats: { partitions: 4 } },
  });
  await assert.rejects(startBroker(four), /partitioned 8 ways but nats\.partitions is 4/);
  // The matching count still starts.
  await (await startBroker(eight)).close();
});
