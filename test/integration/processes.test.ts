// Several broker processes, and a broker killed with SIGKILL mid-run: nothing acknowledged is
// lost, nothing is routed twice, order per conversation holds, nothing sensitive is relayed.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { verifyDecisionChains } from "../../broker/db/decision-chain.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { startChildBroker, testConfigInput, type ChildBroker } from "../helpers/broker.ts";
import { createTestKeys, type TestKeys } from "../helpers/keys.ts";
import {
  createTestDatabase,
  deleteStreams,
  randomPrefix,
  streamMessageCount,
  type TestDatabase,
} from "../helpers/services.ts";

const secret = "processes-test-webhook-secret";

interface Plan {
  conversations: Array<{ id: string; sensitive: boolean; texts: string[] }>;
}

async function plan(
  api: Api,
  conversations: number,
  sensitiveEvery: number,
  perConversation: number,
): Promise<Plan> {
  const result: Plan = { conversations: [] };
  for (let c = 0; c < conversations; c++) {
    const sensitive = c % sensitiveEvery === 0;
    const id = await api.createConversation({
      title: `c${c}`,
      labels: sensitive ? ["finance"] : ["general"],
    });
    result.conversations.push({
      id,
      sensitive,
      texts: Array.from({ length: perConversation }, (_, i) => `c${c}-m${i}`),
    });
  }
  return result;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Checks every invariant on what PostgreSQL holds and what the webhook received. */
async function checkOutcome(db: TestDatabase, receiver: WebhookReceiver, work: Plan): Promise<void> {
  const total = work.conversations.reduce((n, c) => n + c.texts.length, 0);
  const normal = work.conversations.filter((c) => !c.sensitive).reduce((n, c) => n + c.texts.length, 0);
  await waitUntil(
    async () => Number((await db.pool.query("SELECT count(*) FROM messages")).rows[0].count) >= total,
    60_000,
    `${total} messages stored`,
  );
  await receiver.waitFor((r) => r.uniqueMessages().length >= normal, 60_000);

  const decisions = await db.pool.query<{ decisions: string; messages: string }>(
    "SELECT count(*) AS decisions, count(DISTINCT message_id) AS messages FROM routing_decisions",
  );
  assert.equal(Number(decisions.rows[0]?.decisions), total, "one decision per message");
  assert.equal(Number(decisions.rows[0]?.messages), total);
  const chains = await verifyDecisionChains(db.pool);
  assert.deepEqual(chains, { ok: true, decisions: total }, "every decision on an intact per-partition chain");

  const unique = receiver.uniqueMessages();
  assert.equal(unique.length, normal, "every normal message relayed, none extra");
  const sensitiveIds = new Set(work.conversations.filter((c) => c.sensitive).map((c) => c.id));
  assert.equal(
    receiver.deliveries.filter((d) => sensitiveIds.has(d.message.conversationId)).length,
    0,
    "no message of a sensitive conversation relayed",
  );
  for (const conversation of work.conversations) {
    const history = await db.pool.query<{ body: string }>(
      "SELECT body FROM messages WHERE conversation_id = $1 ORDER BY ingress_seq",
      [conversation.id],
    );
    assert.deepEqual(
      history.rows.map((r) => r.body),
      conversation.texts,
      `history of ${conversation.id} complete and in order`,
    );
    if (!conversation.sensitive) {
      assert.deepEqual(
        unique.filter((m) => m.conversationId === conversation.id).map((m) => m.text),
        conversation.texts,
        `relay order of ${conversation.id}`,
      );
    }
  }
}

describe("broker processes", () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let receiver: WebhookReceiver;
  const children: ChildBroker[] = [];
  const prefix = randomPrefix();

  before(async () => {
    db = await createTestDatabase();
    keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
  });

  after(async () => {
    await Promise.all(children.map((child) => child.kill("SIGKILL")));
    await receiver?.close();
    await deleteStreams(prefix);
    await db?.drop();
  });

  test("two processes: 2,000 messages in 50 conversations, each routed once, in order, nothing sensitive relayed", async (t) => {
    receiver = await startWebhookReceiver({ secret });
    const input = testConfigInput({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      webhook: { url: receiver.url, secret },
    });
    const [a, b] = await Promise.all([
      startChildBroker(input, "broker-a"),
      startChildBroker(input, "broker-b"),
    ]);
    assert.ok(a && b);
    children.push(a, b);
    const api = new Api(a.url, await keys.token("alice"));
    const work = await plan(api, 50, 4, 40);
    const started = Date.now();
    // Each conversation's messages are sent one after another, alternating between the two
    // processes; conversations run concurrently.
    await Promise.all(
      work.conversations.map(async (conversation) => {
        for (const [i, text] of conversation.texts.entries()) {
          await api.at(i % 2 === 0 ? a.url : b.url).post(conversation.id, { text });
        }
      }),
    );
    const accepted = Date.now();
    await checkOutcome(db, receiver, work);
    assert.equal(await streamMessageCount(prefix, "ONPREM"), 2000, "each message published on-prem once");
    t.diagnostic(
      `accepted 2000 in ${accepted - started} ms; all stored and relayed after ${Date.now() - started} ms; ` +
        `webhook raw deliveries ${receiver.rawCount()}, duplicates ${receiver.duplicates()}`,
    );
    await Promise.all([a.kill(), b.kill()]);
    await receiver.close();
  });

  test("SIGKILL mid-run of 2,000 messages: none lost, each normal message seen once after dedup", async (t) => {
    receiver = await startWebhookReceiver({ secret });
    await db.pool.query(
      "TRUNCATE messages, routing_decisions, client_message_ids, external_ids, relay_notices, channel_bindings, file_texts, file_external_ids, files, conversations",
    );
    await deleteStreams(prefix);
    const port = await freePort();
    const input = testConfigInput({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      webhook: { url: receiver.url, secret },
      overrides: { http: { host: "127.0.0.1", port } },
    });
    let broker = await startChildBroker(input, "broker");
    children.push(broker);
    const api = new Api(broker.url, await keys.token("alice"));
    const work = await plan(api, 20, 3, 100);

    let acknowledged = 0;
    let retries = 0;
    let killed = false;
    let restarting: Promise<void> | null = null;
    const send = async (conversationId: string, text: string, clientMsgId: string) => {
      // A client retries with the same clientMsgId until it gets its 202, as real clients do.
      for (;;) {
        try {
          await api.post(conversationId, { text, clientMsgId });
          return;
        } catch {
          retries++;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    await Promise.all(
      work.conversations.map(async (conversation) => {
        for (const [i, text] of conversation.texts.entries()) {
          await send(conversation.id, text, `${conversation.id}-${i}`);
          acknowledged++;
          if (!killed && acknowledged >= 700) {
            killed = true;
            restarting = (async () => {
              await broker.kill("SIGKILL");
              await new Promise((resolve) => setTimeout(resolve, 500));
              broker = await startChildBroker(input, "broker-restarted");
              children.push(broker);
            })();
          }
        }
      }),
    );
    await restarting;
    assert.ok(killed, "the broker was killed during the run");
    await checkOutcome(db, receiver, work);
    t.diagnostic(
      `acknowledged ${acknowledged}; client retries ${retries}; webhook raw deliveries ${receiver.rawCount()}, ` +
        `raw redeliveries ${receiver.duplicates()}, unique ${receiver.uniqueMessages().length}`,
    );
    await broker.kill();
  });
});
