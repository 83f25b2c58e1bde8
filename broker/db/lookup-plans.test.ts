// The relay's and the inbound path's lookups by key must stay key probes as `external_ids` grows.
// The 1M-message bench found two that read the whole partial index `external_ids_conversation`
// (every relayed message) per lookup once the table's statistics lagged behind its size, so the relay
// slowed down as it relayed. These tests recreate that state — a table never analyzed, with
// indexes built while it was empty, that has since filled — and run the real statements under
// EXPLAIN ANALYZE.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type pg from "pg";
import { testMessage } from "../../test/helpers/messages.ts";
import { createTestDatabase, type TestDatabase } from "../../test/helpers/services.ts";
import { isRetracted, selectMessageIdByExternalId } from "./external-ids.ts";
import { migrate } from "./migrate.ts";
import { selectRelayStates } from "./relay-state.ts";

/** Relayed messages in the table: its partial index then spans a few hundred pages. */
const relayedRows = 100_000;
/** A key probe reads a few pages per index level and row; a scan of the partial index, hundreds. */
const maxPagesPerLookup = 60;

interface PlanNode {
  "Index Name"?: string;
  "Shared Hit Blocks": number;
  "Shared Read Blocks": number;
  Plans?: PlanNode[];
}

let db: TestDatabase;
let conversationId: string;

before(async () => {
  db = await createTestDatabase();
  await migrate(db.pool);
  conversationId = randomUUID();
  await db.pool.query(
    `INSERT INTO conversations (id, title, created_by, sensitive, sensitive_since, bindings)
     VALUES ($1, 't', 'alice', false, null, $2)`,
    [conversationId, JSON.stringify([{ connector: "slack", channel: "C1" }])],
  );
  // No statistics yet, as in the first minutes of a run (the indexes were built on an empty
  // table by the migration), and none taken while the test fills the table.
  await db.pool.query(`ALTER TABLE external_ids SET (autovacuum_enabled = false)`);
  await db.pool.query(
    `INSERT INTO external_ids (message_id, conversation_id, connector, external_id, kind)
     SELECT gen_random_uuid(), $1::uuid, 'slack', 'C1:' || n || '.0', 'message'
     FROM generate_series(1, $2::int) AS n`,
    [conversationId, relayedRows],
  );
});
after(() => db.drop());

/**
 * A stand-in for the pool that runs each statement under EXPLAIN (ANALYZE, BUFFERS) with the same
 * parameters and keeps the plans; the function under test sees no rows.
 */
function explaining(pool: pg.Pool): { db: pg.Pool; plans: PlanNode[] } {
  const plans: PlanNode[] = [];
  const stand = {
    async query(text: string, values?: unknown[]) {
      const { rows } = await pool.query<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${text}`,
        values,
      );
      const plan = rows[0]?.["QUERY PLAN"][0]?.Plan;
      assert.ok(plan, `no plan for ${text}`);
      plans.push(plan);
      return { rows: [], rowCount: 0 };
    },
  };
  // Only `query` is called by the lookups under test.
  return { db: stand as unknown as pg.Pool, plans };
}

function indexesUsed(node: PlanNode): string[] {
  const own = node["Index Name"] === undefined ? [] : [node["Index Name"]];
  return [...own, ...(node.Plans ?? []).flatMap(indexesUsed)];
}

function assertKeyProbe(plans: PlanNode[], what: string): void {
  assert.equal(plans.length, 1, `${what}: one statement`);
  const plan = plans[0] as PlanNode;
  assert.ok(
    !indexesUsed(plan).includes("external_ids_conversation"),
    `${what} reads the partial index external_ids_conversation: ${indexesUsed(plan).join(", ")}`,
  );
  const pages = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"];
  assert.ok(pages <= maxPagesPerLookup, `${what} read ${pages} pages with ${relayedRows} relayed messages`);
}

test("the relay state of a reply and of an edit reads keys, not every relayed message", async () => {
  const [parent] = (
    await db.pool.query<{ message_id: string }>(
      `SELECT message_id FROM external_ids WHERE external_id = 'C1:500.0'`,
    )
  ).rows;
  assert.ok(parent);
  const { db: explained, plans } = explaining(db.pool);
  await selectRelayStates(explained, [
    testMessage({ conversationId, replyTo: parent.message_id }),
    testMessage({ conversationId, kind: "edit", targetId: parent.message_id }),
  ]);
  assertKeyProbe(plans, "selectRelayStates");
});

test("an inbound cloud id is looked up by its key, not by the conversation's relayed messages", async () => {
  const { db: explained, plans } = explaining(db.pool);
  await selectMessageIdByExternalId(explained, "slack", "C1:500.0", conversationId);
  assertKeyProbe(plans, "selectMessageIdByExternalId");
});

test("an echo check of a cloud delete is looked up by its key", async () => {
  const { db: explained, plans } = explaining(db.pool);
  await isRetracted(explained, "slack", "C1:500.0");
  assertKeyProbe(plans, "isRetracted");
});
