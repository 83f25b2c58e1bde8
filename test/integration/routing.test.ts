// End to end on real NATS and PostgreSQL: zones, stickiness across restarts, idempotency,
// history, and bad input. The cloud is a real HTTP webhook receiver.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startBroker, type Broker } from "../../broker/app.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys, type TestKeys } from "../helpers/keys.ts";
import {
  createTestDatabase,
  deleteStreams,
  randomPrefix,
  streamMessageCount,
  type TestDatabase,
} from "../helpers/services.ts";

const secret = "integration-test-webhook-secret";

describe("routing through a running broker", () => {
  let db: TestDatabase;
  let keys: TestKeys;
  let receiver: WebhookReceiver;
  let broker: Broker;
  let api: Api;
  const prefix = randomPrefix();
  const config = () =>
    testConfig({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      webhook: { url: receiver.url, secret },
      overrides: { limits: { maxTextBytes: 1024 } },
    });

  before(async () => {
    db = await createTestDatabase();
    keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
    receiver = await startWebhookReceiver({ secret });
    broker = await startBroker(config());
    api = new Api(broker.url, await keys.token("alice"));
  });

  after(async () => {
    await broker?.close();
    await receiver?.close();
    await deleteStreams(prefix);
    await db?.drop();
  });

  async function historyTexts(conversationId: string, client = api): Promise<string[]> {
    const response = await client.request<{ messages: { text: string }[] }>(
      "GET",
      `/v1/conversations/${conversationId}/messages?limit=200`,
    );
    assert.equal(response.status, 200);
    return response.body.messages.map((m) => m.text);
  }

  async function routed(messageId: string): Promise<Record<string, unknown>> {
    let body: Record<string, unknown> = {};
    await waitUntil(
      async () => {
        const response = await api.request("GET", `/v1/messages/${messageId}`);
        body = response.body;
        return response.status === 200 && body.routing !== null;
      },
      15_000,
      `message ${messageId} to be routed and stored`,
    );
    return body;
  }

  test("a sensitive conversation stays on-prem; a normal one reaches the webhook once each, in order", async () => {
    const secretConv = await api.createConversation({ title: "payroll", labels: ["hr"] });
    const openConv = await api.createConversation({ title: "lunch" });
    const texts = Array.from({ length: 30 }, (_, i) => `message ${i}`);
    for (const text of texts) {
      await api.post(secretConv, { text: `secret ${text}` });
      await api.post(openConv, { text });
    }
    await waitUntil(async () => (await historyTexts(secretConv)).length === 30, 15_000, "sensitive history");
    await receiver.waitFor(
      (r) => r.uniqueMessages().filter((m) => m.conversationId === openConv).length === 30,
      15_000,
    );

    assert.deepEqual(
      await historyTexts(secretConv),
      texts.map((t) => `secret ${t}`),
    );
    assert.deepEqual(await historyTexts(openConv), texts);
    const relayed = receiver.deliveries.map((d) => d.message);
    assert.equal(
      relayed.filter((m) => m.conversationId === secretConv).length,
      0,
      "nothing sensitive relayed",
    );
    assert.deepEqual(
      receiver
        .uniqueMessages()
        .filter((m) => m.conversationId === openConv)
        .map((m) => m.text),
      texts,
      "normal messages relayed once each, in order",
    );
    for (const delivery of receiver.deliveries) assert.equal(delivery.idempotencyKey, delivery.message.id);
  });

  test("a sensitive label makes the conversation sensitive at once; removing it races nothing out", async () => {
    const created = await api.request<{ id: string; sensitivity: { sensitive: boolean; reason: string } }>(
      "POST",
      "/v1/conversations",
      { title: "board", labels: ["confidential"] },
    );
    assert.equal(created.body.sensitivity.sensitive, true);
    const conv = created.body.id;
    // Accepted under the label, then the label goes before the router reads the message.
    const id = await api.post(conv, { text: "minutes of the board" });
    const patched = await api.request<{ sensitivity: { sensitive: boolean } }>(
      "PATCH",
      `/v1/conversations/${conv}`,
      {
        labels: [],
      },
    );
    assert.equal(patched.body.sensitivity.sensitive, true, "removing the label does not declassify");
    assert.equal(((await routed(id)).routing as { zone: string }).zone, "onprem");

    const open = await api.createConversation({ title: "later labelled" });
    const labelled = await api.request<{ sensitivity: { sensitive: boolean } }>(
      "PATCH",
      `/v1/conversations/${open}`,
      {
        labels: ["medical"],
      },
    );
    assert.equal(labelled.body.sensitivity.sensitive, true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(
      !receiver.deliveries.some(
        (d) => d.message.conversationId === conv || d.message.conversationId === open,
      ),
    );
  });

  test("GET /v1/messages/{id} explains the decision", async () => {
    const conv = await api.createConversation({ title: "contracts", labels: ["legal"] });
    const id = await api.post(conv, { text: "draft attached" });
    const message = await routed(id);
    assert.equal(message.text, "draft attached");
    const routing = message.routing as Record<string, unknown>;
    assert.equal(routing.zone, "onprem");
    assert.equal(routing.sensitive, true);
    // The label made the conversation sensitive when it was created, so the message is sticky.
    assert.deepEqual(routing.rules, ["sticky"]);
    assert.match(String(routing.policyVersion), /^default-/);
    assert.deepEqual(routing.detections, []);
  });

  test("a label added later stops relaying from the next message on, and stays sensitive after a restart", async () => {
    const conv = await api.createConversation({ title: "project x" });
    const first = await api.post(conv, { text: "before" });
    await receiver.waitFor((r) => r.uniqueMessages().some((m) => m.id === first), 15_000);

    const patched = await api.request("PATCH", `/v1/conversations/${conv}`, { labels: ["confidential"] });
    assert.equal(patched.status, 200);
    const second = await api.post(conv, { text: "after the label" });
    assert.equal(((await routed(second)).routing as { zone: string }).zone, "onprem");

    // Removing the label does not declassify: sensitivity is sticky.
    await api.request("PATCH", `/v1/conversations/${conv}`, { labels: [] });
    await broker.close();
    broker = await startBroker(config());
    api = api.at(broker.url);
    const third = await api.post(conv, { text: "after the restart" });
    const routing = (await routed(third)).routing as { zone: string; rules: string[] };
    assert.equal(routing.zone, "onprem");
    assert.deepEqual(routing.rules, ["sticky"]);
    const conversation = await api.request<{ sensitivity: { sensitive: boolean; reason: string } }>(
      "GET",
      `/v1/conversations/${conv}`,
    );
    assert.equal(conversation.body.sensitivity.sensitive, true);

    // Give a wrong relay time to happen before asserting it did not.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const relayedTexts = receiver.deliveries
      .filter((d) => d.message.conversationId === conv)
      .map((d) => d.message.text);
    assert.deepEqual([...new Set(relayedTexts)], ["before"]);
  });

  test("the same clientMsgId twice gives the same id and one message", async () => {
    const conv = await api.createConversation({ title: "retries" });
    const [a, b] = await Promise.all([
      api.post(conv, { text: "once", clientMsgId: "client-1" }),
      api.post(conv, { text: "once", clientMsgId: "client-1" }),
    ]);
    const c = await api.post(conv, { text: "once", clientMsgId: "client-1" });
    assert.equal(a, b);
    assert.equal(a, c);
    await routed(a);
    await receiver.waitFor((r) => r.uniqueMessages().some((m) => m.id === a), 15_000);
    assert.deepEqual(await historyTexts(conv), ["once"]);
    const reused = await api.request("POST", `/v1/conversations/${conv}/messages`, {
      text: "something else",
      clientMsgId: "client-1",
    });
    assert.equal(reused.status, 409);
    assert.equal(reused.body.type, "urn:watershed:problem:client-msg-id-conflict");
    // Another sender may use the same clientMsgId for a message of their own.
    await api.request("PATCH", `/v1/conversations/${conv}`, { members: [{ id: "alice" }, { id: "bob" }] });
    const bob = api.as(await keys.token("bob"));
    const d = await bob.post(conv, { text: "bob's", clientMsgId: "client-1" });
    assert.notEqual(d, a);
  });

  test("history pages with after= and limit=, members only", async () => {
    const conv = await api.createConversation({ title: "paging" });
    for (let i = 0; i < 7; i++) await api.post(conv, { text: `p${i}` });
    await waitUntil(async () => (await historyTexts(conv)).length === 7, 15_000, "history");
    const page1 = await api.request<{ messages: { id: string; text: string }[]; next: string | null }>(
      "GET",
      `/v1/conversations/${conv}/messages?limit=3`,
    );
    assert.deepEqual(
      page1.body.messages.map((m) => m.text),
      ["p0", "p1", "p2"],
    );
    assert.ok(page1.body.next);
    const page2 = await api.request<{ messages: { text: string }[] }>("GET", page1.body.next);
    assert.deepEqual(
      page2.body.messages.map((m) => m.text),
      ["p3", "p4", "p5"],
    );

    const mallory = api.as(await keys.token("mallory"));
    const denied = await mallory.request("GET", `/v1/conversations/${conv}/messages`);
    assert.equal(denied.status, 403);
    assert.equal(denied.body.type, "urn:watershed:problem:not-member");
    const firstId = page1.body.messages[0]?.id;
    const hidden = await mallory.request("GET", `/v1/messages/${firstId}`);
    assert.equal(hidden.status, 404);
  });

  test("replies and edits name a stored message of the same conversation; only the author edits or deletes", async () => {
    const bobApi = api.as(await keys.token("bob"));
    const conv = await api.createConversation({ title: "targets", members: [{ id: "bob" }] });
    const elsewhere = await api.createConversation({ title: "elsewhere" });
    const aliceMessage = await api.post(conv, { text: "alice wrote this" });
    const foreign = await api.post(elsewhere, { text: "in another conversation" });
    await waitUntil(
      async () => (await historyTexts(conv)).length === 1 && (await historyTexts(elsewhere)).length === 1,
      10_000,
      "both stored",
    );
    const path = `/v1/conversations/${conv}/messages`;
    const refused = [
      {
        body: { kind: "edit", targetId: aliceMessage, text: "bob's edit" },
        as: bobApi,
        type: "invalid-target",
      },
      { body: { kind: "delete", targetId: aliceMessage, text: "" }, as: bobApi, type: "invalid-target" },
      { body: { kind: "edit", targetId: foreign, text: "x" }, as: api, type: "invalid-target" },
      { body: { text: "a reply", replyTo: foreign }, as: api, type: "invalid-target" },
      {
        body: { kind: "reaction", targetId: "0192f000-0000-7000-8000-000000000000", text: "tada" },
        as: api,
        type: "target-not-stored",
      },
    ];
    for (const c of refused) {
      const response = await c.as.request("POST", path, c.body);
      assert.equal(response.body.type, `urn:watershed:problem:${c.type}`, JSON.stringify(c.body));
    }
    // What is allowed: anyone's reply and reaction, the author's own edit.
    await bobApi.post(conv, { text: "bob replies", replyTo: aliceMessage });
    await bobApi.post(conv, { kind: "reaction", targetId: aliceMessage, text: "thumbsup" });
    await api.post(conv, { kind: "edit", targetId: aliceMessage, text: "alice fixed it" });
    await waitUntil(async () => (await historyTexts(conv)).length === 4, 10_000, "the allowed three stored");
  });

  test("bad input gets a problem response and stores nothing", async () => {
    const conv = await api.createConversation({ title: "bad input" });
    const countRows = async () =>
      Number(
        (await db.pool.query("SELECT count(*) FROM messages WHERE conversation_id = $1", [conv])).rows[0]
          .count,
      );
    const ingressBefore = await streamMessageCount(prefix, "INGRESS");
    const path = `/v1/conversations/${conv}/messages`;
    const cases: Array<{
      name: string;
      send: () => Promise<{ status: number; contentType: string | null; body: Record<string, unknown> }>;
      status: number;
      type: string;
    }> = [
      {
        name: "malformed JSON",
        send: () => api.request("POST", path, '{"text": "unterminated'),
        status: 400,
        type: "malformed-json",
      },
      {
        name: "unknown field",
        send: () => api.request("POST", path, { text: "x", color: "red" }),
        status: 400,
        type: "invalid-body",
      },
      {
        name: "NUL in text",
        send: () => api.request("POST", path, { text: "a\u0000b" }),
        status: 400,
        type: "invalid-body",
      },
      {
        name: "NUL in a new conversation's title",
        send: () => api.request("POST", "/v1/conversations", { title: "a\u0000b" }),
        status: 400,
        type: "invalid-body",
      },
      {
        name: "wrong type",
        send: () => api.request("POST", path, { text: 42 }),
        status: 400,
        type: "invalid-body",
      },
      {
        name: "edit without target",
        send: () => api.request("POST", path, { text: "x", kind: "edit" }),
        status: 400,
        type: "invalid-body",
      },
      {
        name: "oversized text",
        send: () => api.request("POST", path, { text: "é".repeat(600) }),
        status: 413,
        type: "text-too-long",
      },
      {
        name: "missing token",
        send: () => api.as("").request("POST", path, { text: "x" }, { authorization: "" }),
        status: 401,
        type: "unauthenticated",
      },
      {
        name: "invalid token",
        send: () => api.as("not.a.jwt").request("POST", path, { text: "x" }),
        status: 401,
        type: "unauthenticated",
      },
      {
        name: "unknown conversation",
        send: () =>
          api.request("POST", "/v1/conversations/0192f000-0000-7000-8000-000000000000/messages", {
            text: "x",
          }),
        status: 404,
        type: "conversation-not-found",
      },
      {
        name: "bad conversation id",
        send: () => api.request("POST", "/v1/conversations/nope/messages", { text: "x" }),
        status: 400,
        type: "invalid-parameter",
      },
      {
        name: "non-member sender",
        send: async () => api.as(await keys.token("mallory")).request("POST", path, { text: "x" }),
        status: 403,
        type: "not-member",
      },
      {
        name: "not JSON",
        send: () =>
          api.request("POST", path, "text=x", { "content-type": "application/x-www-form-urlencoded" }),
        status: 415,
        type: "unsupported-media-type",
      },
    ];
    for (const c of cases) {
      const response = await c.send();
      assert.equal(response.status, c.status, `${c.name}: status`);
      assert.equal(
        response.contentType,
        "application/problem+json; charset=utf-8",
        `${c.name}: content type`,
      );
      assert.equal(response.body.type, `urn:watershed:problem:${c.type}`, `${c.name}: type`);
      assert.equal(response.body.status, c.status, `${c.name}: body status`);
    }
    assert.equal(await countRows(), 0);
    assert.equal(await streamMessageCount(prefix, "INGRESS"), ingressBefore, "nothing published to INGRESS");
    const unknownRoute = await api.request("GET", "/v1/nothing-here");
    assert.equal(unknownRoute.status, 404);
    assert.equal(unknownRoute.body.type, "urn:watershed:problem:not-found");
  });

  test("health and readiness", async () => {
    const health = await fetch(`${broker.url}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${broker.url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { checks: Record<string, string> };
    assert.deepEqual(body.checks, { postgres: "ok", nats: "ok", streams: "ok" });
  });
});
