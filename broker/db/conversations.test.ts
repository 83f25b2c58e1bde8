// Intake's membership checks, many in one statement: one answer per check, in order.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/services.ts";
import { insertConversation, selectMemberships } from "./conversations.ts";
import { migrate } from "./migrate.ts";

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
  await migrate(db.pool);
});
after(() => db.drop());

test("each check gets member, not-member or no-conversation, in the order asked", async () => {
  const conversation = await insertConversation(db.pool, {
    id: randomUUID(),
    title: "payroll",
    labels: [],
    memberIds: ["alice", "bob"],
    externalParticipants: false,
    createdBy: "alice",
  });
  const missing = randomUUID();
  assert.deepEqual(
    await selectMemberships(db.pool, [
      { conversationId: conversation.id, principalId: "bob" },
      { conversationId: missing, principalId: "bob" },
      { conversationId: conversation.id, principalId: "mallory" },
      { conversationId: conversation.id, principalId: "alice" },
    ]),
    ["member", "no-conversation", "not-member", "member"],
  );
  assert.deepEqual(await selectMemberships(db.pool, []), []);
});
