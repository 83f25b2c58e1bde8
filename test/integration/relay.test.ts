// The relay against a misbehaving cloud: retries with backoff, Retry-After on 429, dead letters
// for permanent errors and exhausted attempts, and nothing sent for a conversation that turned
// sensitive while its message waited for a retry.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { startBroker, type Broker } from "../../broker/app.ts";
import { DeadLetter } from "../../broker/nats/envelope.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import {
  createTestDatabase,
  deleteStreams,
  natsUrl,
  randomPrefix,
  type TestDatabase,
} from "../helpers/services.ts";

const secret = "relay-test-webhook-secret";

describe("relay", () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let broker: Broker;
  let api: Api;
  const prefix = randomPrefix();
  /** What the fake cloud answers next, one per attempt; 200 when the list is empty. */
  let answers: number[] = [];
  const attemptTimes: number[] = [];

  before(async () => {
    db = await createTestDatabase();
    const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
    receiver = await startWebhookReceiver({
      secret,
      retryAfter: "1",
      status: () => {
        attemptTimes.push(Date.now());
        return answers.shift() ?? 200;
      },
    });
    broker = await startBroker(
      testConfig({
        databaseUrl: db.url,
        prefix,
        jwksFile: keys.jwksFile,
        webhook: { url: receiver.url, secret },
        overrides: {
          relay: { maxAttempts: 4, backoffBaseMs: 50, backoffMaxMs: 200 },
          nats: { partitions: 1 },
        },
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

  async function deadLetters(): Promise<DeadLetter[]> {
    const nc = await connect({ servers: natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = `${prefix.toUpperCase()}_DLQ`;
      const { state } = await jsm.streams.info(stream);
      const letters: DeadLetter[] = [];
      for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
        const stored = await jsm.streams.getMessage(stream, { seq });
        if (stored) letters.push(DeadLetter.parse(stored.json()));
      }
      return letters;
    } finally {
      await nc.close();
    }
  }

  const delivered = (id: string) => receiver.uniqueMessages().some((m) => m.id === id);

  test("503s are retried with backoff until delivered, once", async () => {
    const conversation = await api.createConversation({ title: "flaky cloud" });
    answers = [503, 503, 503];
    const before = receiver.attempts();
    const id = await api.post(conversation, { text: "eventually" });
    await receiver.waitFor(() => delivered(id), 15_000);
    assert.equal(receiver.attempts() - before, 4, "three failures, then the delivery");
    assert.equal(receiver.deliveries.filter((d) => d.message.id === id).length, 1);
  });

  test("a 429 waits for Retry-After", async () => {
    const conversation = await api.createConversation({ title: "rate limited" });
    answers = [429];
    const first = attemptTimes.length;
    const id = await api.post(conversation, { text: "patiently" });
    await receiver.waitFor(() => delivered(id), 15_000);
    const [limited, retried] = attemptTimes.slice(first);
    assert.ok(limited !== undefined && retried !== undefined);
    assert.ok(
      retried - limited >= 950,
      `retried ${retried - limited} ms after the 429; Retry-After said 1 s`,
    );
  });

  test("a permanent error dead-letters at once and the partition moves on", async () => {
    const conversation = await api.createConversation({ title: "bad channel" });
    answers = [400];
    const rejected = await api.post(conversation, { text: "refused" });
    const next = await api.post(conversation, { text: "next one" });
    await receiver.waitFor(() => delivered(next), 15_000);
    const letter = (await deadLetters()).find((l) => l.envelope.message.id === rejected);
    assert.ok(letter, "the refused message is in the DLQ");
    assert.equal(letter.connector, "webhook");
    assert.equal(letter.attempts, 1);
    assert.match(letter.reason, /400/);
    assert.equal(delivered(rejected), false);
  });

  test("exhausted attempts dead-letter the message", async () => {
    const conversation = await api.createConversation({ title: "down cloud" });
    answers = [503, 503, 503, 503];
    const id = await api.post(conversation, { text: "gives up" });
    await waitUntil(
      async () => (await deadLetters()).some((l) => l.envelope.message.id === id),
      15_000,
      "dead letter",
    );
    const letter = (await deadLetters()).find((l) => l.envelope.message.id === id);
    assert.equal(letter?.attempts, 4);
    assert.equal(delivered(id), false);
  });

  test("a message waiting for a retry is withheld once its conversation turns sensitive", async () => {
    const conversation = await api.createConversation({ title: "turns secret" });
    // The 429 holds the message for a second (Retry-After), long enough to turn the conversation.
    answers = [429];
    const attemptsBefore = receiver.attempts();
    const waiting = await api.post(conversation, { text: "routed while normal" });
    await waitUntil(async () => receiver.attempts() > attemptsBefore, 10_000, "a first relay attempt");
    await api.request("PATCH", `/v1/conversations/${conversation}`, { labels: ["restricted"] });
    const turning = await api.post(conversation, { text: "now restricted" });
    await waitUntil(
      async () => {
        const response = await api.request<{ routing: { zone: string } | null }>(
          "GET",
          `/v1/messages/${turning}`,
        );
        return response.status === 200 && response.body.routing?.zone === "onprem";
      },
      10_000,
      "the conversation to turn sensitive",
    );
    // A later normal conversation's message gets through, so the relay has moved past `waiting`.
    const other = await api.createConversation({ title: "still normal" });
    const after = await api.post(other, { text: "after" });
    await receiver.waitFor(() => delivered(after), 15_000);
    assert.equal(delivered(waiting), false, "nothing of a sensitive conversation reaches the cloud");
    assert.equal(
      (await deadLetters()).some((l) => l.envelope.message.id === waiting),
      false,
      "withheld, not dead-lettered",
    );
  });
});
