// A model test: fast-check drives random sequences of operations against a running broker and
// checks the invariants of DESIGN.md after each run: no leak, sticky sensitivity, nothing lost,
// order per conversation.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { startBroker, type Broker } from "../../broker/app.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import { createTestDatabase, deleteStreams, randomPrefix, type TestDatabase } from "../helpers/services.ts";

const secret = "property-test-webhook-secret";
const conversationsPerRun = 3;

type Operation =
  | { kind: "post"; conversation: number; clientRetry: boolean }
  | { kind: "label"; conversation: number; labels: string[] };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("post" as const),
      conversation: fc.nat(conversationsPerRun - 1),
      clientRetry: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("label" as const),
      conversation: fc.nat(conversationsPerRun - 1),
      labels: fc.subarray(["finance", "general", "medical", "random"]),
    }),
  },
);

interface ModelConversation {
  id: string;
  labels: string[];
  /** A sensitive label was applied: from then on the conversation is sensitive for good. */
  sticky: boolean;
  posted: Array<{ id: string; text: string; mustStayOnPrem: boolean }>;
}

let db: TestDatabase;
let receiver: WebhookReceiver;
let broker: Broker;
let api: Api;
const prefix = randomPrefix();

before(async () => {
  db = await createTestDatabase();
  const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
  receiver = await startWebhookReceiver({ secret });
  broker = await startBroker(
    testConfig({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      webhook: { url: receiver.url, secret },
      overrides: { nats: { partitions: 4 } },
    }),
  );
  api = new Api(broker.url, await keys.token("alice"));
});

after(async () => {
  await broker?.close();
  await receiver?.close();
  await deleteStreams(prefix);
  await db?.drop();
});

const sensitiveLabels = new Set(["finance", "medical"]);

test("random operations keep no-leak, sticky, nothing-lost and order", async () => {
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 30 }), async (operations) => {
      run++;
      const model: ModelConversation[] = [];
      for (let c = 0; c < conversationsPerRun; c++) {
        const id = await api.createConversation({ title: `run ${run} c${c}` });
        model.push({ id, labels: [], sticky: false, posted: [] });
      }
      for (const [index, op] of operations.entries()) {
        const conversation = model[op.conversation] as ModelConversation;
        if (op.kind === "label") {
          const response = await api.request("PATCH", `/v1/conversations/${conversation.id}`, {
            labels: op.labels,
          });
          assert.equal(response.status, 200);
          conversation.labels = op.labels;
          // The label turns the conversation sensitive at once, not at its next message.
          if (op.labels.some((l) => sensitiveLabels.has(l))) conversation.sticky = true;
        } else {
          const text = `r${run}-op${index}`;
          const clientMsgId = `r${run}-${index}`;
          const id = await api.post(conversation.id, { text, clientMsgId });
          // A client retry with the same clientMsgId must not create a second message.
          if (op.clientRetry) assert.equal(await api.post(conversation.id, { text, clientMsgId }), id);
          conversation.posted.push({ id, text, mustStayOnPrem: conversation.sticky });
        }
      }

      // Nothing lost, in order: history holds every accepted message once, in acceptance order.
      for (const conversation of model) {
        const expected = conversation.posted.map((p) => p.text);
        let history: string[] = [];
        await waitUntil(
          async () => {
            const { rows } = await db.pool.query<{ body: string }>(
              "SELECT body FROM messages WHERE conversation_id = $1 ORDER BY ingress_seq",
              [conversation.id],
            );
            history = rows.map((r) => r.body);
            return history.length >= expected.length;
          },
          20_000,
          "history",
        );
        assert.deepEqual(history, expected);
      }
      // Messages of conversations that never carried a sensitive label all reach the cloud.
      // Messages posted before a label may race it; those of conversations never labelled may not.
      const mustRelay = model.filter((c) => !c.sticky).flatMap((c) => c.posted.map((p) => p.id));
      await receiver.waitFor((r) => {
        const seen = new Set(r.uniqueMessages().map((m) => m.id));
        return mustRelay.every((id) => seen.has(id));
      }, 20_000);
      // Let a wrong relay of the turned conversations have time to happen.
      await new Promise((resolve) => setTimeout(resolve, 200));

      const relayed = receiver.uniqueMessages();
      for (const conversation of model) {
        const relayedHere = relayed.filter((m) => m.conversationId === conversation.id).map((m) => m.text);
        // No leak and sticky: nothing posted under a sensitive label, or after one, is relayed.
        const forbidden = new Set(conversation.posted.filter((p) => p.mustStayOnPrem).map((p) => p.text));
        assert.deepEqual(
          relayedHere.filter((t) => forbidden.has(t)),
          [],
          "no leak after turning sensitive",
        );
        // Order: what was relayed is a prefix-respecting subsequence of what was posted.
        const postedOrder = conversation.posted.map((p) => p.text);
        const positions = relayedHere.map((t) => postedOrder.indexOf(t));
        assert.deepEqual(
          positions,
          [...positions].sort((a, b) => a - b),
          "relay order follows acceptance order",
        );
        // Sticky: every decision after the conversation turned is on-prem.
        for (const posted of conversation.posted.filter((p) => p.mustStayOnPrem)) {
          const { rows } = await db.pool.query<{ zone: string }>(
            "SELECT zone FROM routing_decisions WHERE message_id = $1",
            [posted.id],
          );
          assert.equal(rows[0]?.zone, "onprem");
        }
      }
      assert.equal(receiver.duplicates(), 0, "no raw duplicate deliveries in a run without faults");
    }),
    { numRuns: 15, endOnFailure: true },
  );
});
