// The relay's batched PostgreSQL work: one statement answers every message of a batch in order,
// and one statement records many cloud ids with the first record standing.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { Message } from "../../policies/model.ts";
import { testMessage } from "../../test/helpers/messages.ts";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/services.ts";
import { insertExternalIds } from "./external-ids.ts";
import { migrate } from "./migrate.ts";
import { selectRelayStates } from "./relay-state.ts";

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
  await migrate(db.pool);
});
after(() => db.drop());

const message = (conversationId: string, fields: Partial<Message> = {}): Message =>
  testMessage({ conversationId, ...fields });

async function conversation(sensitive: boolean, channel: string): Promise<string> {
  const id = randomUUID();
  await db.pool.query(
    `INSERT INTO conversations (id, title, created_by, sensitive, sensitive_since, bindings)
     VALUES ($1, 't', 'alice', $2, $3, $4)`,
    [id, sensitive, sensitive ? new Date() : null, JSON.stringify([{ connector: "slack", channel }])],
  );
  return id;
}

test("each message of a batch gets its own state, in order; an unknown conversation gets null", async () => {
  const normal = await conversation(false, "C1");
  const sensitive = await conversation(true, "C2");
  const parent = message(normal);
  const reply = message(normal, { replyTo: parent.id });
  const delivered = message(normal);
  await insertExternalIds(db.pool, [
    {
      messageId: parent.id,
      conversationId: normal,
      connector: "slack",
      externalId: "C1:1.0",
      kind: "message",
    },
    {
      messageId: delivered.id,
      conversationId: normal,
      connector: "slack",
      externalId: "C1:2.0",
      kind: "message",
    },
  ]);
  const states = await selectRelayStates(db.pool, [
    message(sensitive),
    reply,
    message(randomUUID()),
    delivered,
  ]);
  assert.equal(states.length, 4);
  assert.equal(states[0]?.sensitive, true);
  assert.deepEqual(states[0]?.bindings, [{ connector: "slack", channel: "C2" }]);
  assert.equal(states[1]?.sensitive, false);
  assert.deepEqual(states[1]?.threadOf, { slack: "C1:1.0" });
  assert.deepEqual(states[1]?.deliveredTo, []);
  assert.equal(states[2], null);
  assert.deepEqual(states[3]?.deliveredTo, ["slack"]);
  assert.deepEqual(await selectRelayStates(db.pool, []), []);
});

test("a batch of id records keeps the first record of a message and connector", async () => {
  const id = randomUUID();
  const conversationId = await conversation(false, "C3");
  const row = { messageId: id, conversationId, connector: "slack", kind: "message" as const };
  await insertExternalIds(db.pool, [
    { ...row, externalId: "C3:1.0" },
    { ...row, externalId: "C3:9.0" },
  ]);
  await insertExternalIds(db.pool, [{ ...row, externalId: "C3:5.0" }]);
  const { rows } = await db.pool.query("SELECT external_id FROM external_ids WHERE message_id = $1", [id]);
  assert.deepEqual(rows, [{ external_id: "C3:1.0" }]);
});
