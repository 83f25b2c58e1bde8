// The store worker: a row PostgreSQL refuses does not block the rows batched with it.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startBroker, type Broker } from "../../broker/app.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import {
  createTestDatabase,
  deleteStreams,
  natsUrl,
  randomPrefix,
  streamMessageCount,
  type TestDatabase,
} from "../helpers/services.ts";

let db: TestDatabase;
let config: ReturnType<typeof testConfig>;
let router: Broker;
let api: Api;
const prefix = randomPrefix();

before(async () => {
  db = await createTestDatabase();
  const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
  config = testConfig({ databaseUrl: db.url, prefix, jwksFile: keys.jwksFile });
  // No store worker yet: routed messages pile up in ONPREM, so the store later meets them in batches.
  router = await startBroker(config, { workers: { store: false } });
  api = new Api(router.url, await keys.token("alice"));
  // Fault injection: a constraint this test's database alone has, refusing one body.
  await db.pool.query("ALTER TABLE messages ADD CONSTRAINT test_poison CHECK (body <> 'poison')");
});

after(async () => {
  await router?.close();
  await deleteStreams(prefix);
  await db?.drop();
});

async function storeConsumerInfo(prefix: string) {
  const nc = await connect({ servers: natsUrl });
  try {
    return await (await jetstreamManager(nc)).consumers.info(`${prefix.toUpperCase()}_ONPREM`, "store");
  } finally {
    await nc.close();
  }
}

test("a refused row is set aside and the rest of its batch is stored", async () => {
  const conversation = await api.createConversation({ title: "store" });
  for (const text of ["one", "two", "poison", "three", "four"]) await api.post(conversation, { text });
  await waitUntil(
    async () => (await streamMessageCount(prefix, "ONPREM")) === 5,
    15_000,
    "five routed messages",
  );
  const store = await startBroker(config, { workers: { router: false, relay: false } });
  const bodies = async () =>
    (
      await db.pool.query<{ body: string }>("SELECT body FROM messages WHERE conversation_id = $1", [
        conversation,
      ])
    ).rows.map((r) => r.body);
  await waitUntil(async () => (await bodies()).length === 4, 15_000, "the four storable messages");
  const later = await api.post(conversation, { text: "later" });
  await waitUntil(
    async () => (await db.pool.query("SELECT 1 FROM messages WHERE id = $1", [later])).rowCount === 1,
    15_000,
    "a later message, so the store is not wedged",
  );
  assert.deepEqual((await bodies()).sort(), ["four", "later", "one", "three", "two"]);
  // The refused message is settled (terminated), not redelivered for ever.
  await waitUntil(
    async () => {
      const info = await storeConsumerInfo(prefix);
      return info.num_ack_pending === 0 && info.num_pending === 0;
    },
    15_000,
    "the store consumer to have nothing outstanding",
  );
  await store.close();
});
