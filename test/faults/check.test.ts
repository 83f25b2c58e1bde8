// The fault suite's checker on made-up outcomes: it must see each kind of broken invariant, and
// nothing on a clean run. PostgreSQL is the shared test server (a table shaped like `messages`).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startFakeSlack, type FakeSlack } from "../fakes/slack/index.ts";
import { createTestDatabase, natsUrl, type TestDatabase } from "../helpers/services.ts";
import { checkRun, reportFailed } from "./check.ts";
import type { ConversationRecord } from "./workload.ts";

describe("fault checker", () => {
  let db: TestDatabase;
  let slack: FakeSlack;

  before(async () => {
    db = await createTestDatabase();
    await db.pool.query(
      `CREATE TABLE messages (id uuid PRIMARY KEY, conversation_id uuid NOT NULL, ingress_seq bigint NOT NULL)`,
    );
    slack = await startFakeSlack({
      perChannelPerSecond: 1000,
      perChannelBurst: 1000,
      echoBotMessages: false,
    });
  });
  after(async () => {
    await slack?.close();
    await db?.drop();
  });

  /** A conversation with `n` acknowledged messages and a channel of its own. */
  function conversation(name: string, n: number, sensitive = false): ConversationRecord {
    const ids = Array.from({ length: n }, () => randomUUID());
    return {
      id: randomUUID(),
      channel: slack.createChannel(name),
      sensitive,
      acknowledged: ids,
      texts: ids.map((_, i) => `${name} message ${i}`),
    };
  }

  async function store(c: ConversationRecord, order: number[]): Promise<void> {
    for (const [seq, index] of order.entries()) {
      await db.pool.query(`INSERT INTO messages VALUES ($1, $2, $3)`, [c.acknowledged[index], c.id, seq + 1]);
    }
  }

  /** Posts as the broker's Slack connector does: the Watershed id in the metadata. */
  async function post(c: ConversationRecord, index: number): Promise<void> {
    const response = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${slack.botToken}`,
        "content-type": "application/json; charset=utf-8",
      },
      body: JSON.stringify({
        channel: c.channel,
        text: c.texts[index],
        metadata: { event_type: "watershed_message", event_payload: { message_id: c.acknowledged[index] } },
      }),
    });
    const answer = (await response.json()) as { ok: boolean; error?: string };
    assert.ok(answer.ok, answer.error);
  }

  const inputs = (conversations: ConversationRecord[]) => ({
    pool: db.pool,
    slack,
    conversations,
    natsServers: [natsUrl],
    prefix: `t${randomUUID().slice(0, 8)}`,
  });

  test("a clean outcome has nothing to report", async () => {
    const normal = conversation("clean-normal", 3);
    const sensitive = conversation("clean-sensitive", 2, true);
    await store(normal, [0, 1, 2]);
    await store(sensitive, [0, 1]);
    for (const i of [0, 1, 2]) await post(normal, i);
    const report = await checkRun(inputs([normal, sensitive]));
    assert.equal(report.acknowledged, 5);
    assert.deepEqual(
      [
        report.lostOnPrem,
        report.lostInCloud,
        report.duplicatesInCloud,
        report.sensitiveInCloud,
        report.orderViolations,
      ],
      [0, 0, 0, 0, 0],
    );
    assert.equal(reportFailed(report), false);
  });

  test("losses, a duplicate, a leak and both kinds of disorder are each counted", async () => {
    const normal = conversation("broken-normal", 4);
    const sensitive = conversation("broken-sensitive", 2, true);
    // On-prem: message 3 missing, 2 stored before 1.
    await store(normal, [0, 2, 1]);
    // Sensitive: message 1 missing on-prem, message 0 posted to Slack.
    await store(sensitive, [0]);
    await post(sensitive, 0);
    // Cloud: 1 before 0, 1 twice, 2 and 3 missing.
    await post(normal, 1);
    await post(normal, 0);
    await post(normal, 1);
    const report = await checkRun(inputs([normal, sensitive]));
    assert.equal(report.lostOnPrem, 2, "message 3 of the normal one, message 1 of the sensitive one");
    assert.equal(report.lostInCloud, 2);
    assert.equal(report.duplicatesInCloud, 1);
    assert.equal(report.sensitiveInCloud, 1);
    assert.equal(report.orderViolations, 2, "one on-prem, one in Slack");
    assert.equal(reportFailed(report), true);
    assert.ok(report.examples.some((line) => line.includes(normal.acknowledged[3] as string)));
  });
});
