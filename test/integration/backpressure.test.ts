// Intake refuses with 503 backlog-full, and stores nothing, once INGRESS holds
// `nats.maxIngressBacklog` messages that no router has taken yet; it accepts again once they drain.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startBroker, type Broker } from "../../broker/app.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import {
  createTestDatabase,
  deleteStreams,
  randomPrefix,
  streamMessageCount,
  type TestDatabase,
} from "../helpers/services.ts";

let db: TestDatabase;
let intake: Broker;
let api: Api;
let config: ReturnType<typeof testConfig>;
const prefix = randomPrefix();

before(async () => {
  db = await createTestDatabase();
  const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
  config = testConfig({
    databaseUrl: db.url,
    prefix,
    jwksFile: keys.jwksFile,
    overrides: { nats: { maxIngressBacklog: 5 } },
  });
  // Intake only: no router drains INGRESS.
  intake = await startBroker(config, { workers: { router: false, store: false, relay: false } });
  api = new Api(intake.url, await keys.token("alice"));
});

after(async () => {
  await intake?.close();
  await deleteStreams(prefix);
  await db?.drop();
});

test("a full backlog answers 503 backlog-full with Retry-After, and accepts again once routed", async () => {
  const conversation = await api.createConversation({ title: "busy" });
  for (let i = 0; i < 5; i++) await api.post(conversation, { text: `m${i}`, clientMsgId: `c${i}` });
  const refused = await fetch(`${intake.url}/v1/conversations/${conversation}/messages`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.token}`, "content-type": "application/json" },
    body: JSON.stringify({ text: "one too many", clientMsgId: "c5" }),
  });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal(((await refused.json()) as { type: string }).type, "urn:watershed:problem:backlog-full");
  assert.equal(await streamMessageCount(prefix, "INGRESS"), 5);

  const workers = await startBroker(config);
  try {
    await waitUntil(
      async () => (await streamMessageCount(prefix, "INGRESS")) === 0,
      15_000,
      "INGRESS to drain",
    );
    // The client retries with the same clientMsgId and is accepted now.
    const id = await api.post(conversation, { text: "one too many", clientMsgId: "c5" });
    await waitUntil(
      async () => (await db.pool.query("SELECT 1 FROM messages WHERE id = $1", [id])).rowCount === 1,
      15_000,
      "the retried message to be stored",
    );
    const { rows } = await db.pool.query<{ body: string }>(
      "SELECT body FROM messages WHERE conversation_id = $1 ORDER BY ingress_seq",
      [conversation],
    );
    assert.deepEqual(
      rows.map((r) => r.body),
      ["m0", "m1", "m2", "m3", "m4", "one too many"],
    );
  } finally {
    await workers.close();
  }
});
