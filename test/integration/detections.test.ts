// Content classification through the running broker: detector hits keep a message and its
// conversation on-prem, decisions record types and offsets but never the text, a `redact` rule
// relays the message with the spans replaced, and a `notify` rule tells on-prem clients.
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { connect, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { startBroker, type Broker } from "../../broker/app.ts";
import { createLogger } from "../../broker/telemetry/log.ts";
import { defaultPolicyPath } from "../../policies/index.ts";
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

const secret = "detections-test-webhook-secret";
const card = "4111 1111 1111 1111";
const residentId = "11010519491231002X";

/** The default policy, plus `notify` on detector hits and a rule that redacts contact details. */
async function testPolicy(dir: string): Promise<string> {
  const base = await readFile(defaultPolicyPath, "utf8");
  const withNotify = base.replace(
    / {2}- id: sensitive-detections\n[\s\S]*? {4}outcome: sensitive\n/,
    (rule) => `${rule}    actions: [notify]\n`,
  );
  assert.notEqual(withNotify, base);
  const withRedact = withNotify.replace(
    /\nrules:\n/,
    `\nrules:
  - id: redact-contacts
    when: { detected: { types: [email] } }
    outcome: normal
    reason: Contact details are masked in the cloud.
    actions: [redact]
`,
  );
  const file = join(dir, "policy.yaml");
  await writeFile(file, withRedact.replace(/^version: .*$/m, "version: detections-test-1"));
  return file;
}

describe("content detections through the broker", () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let broker: Broker;
  let api: Api;
  let nc: NatsConnection;
  let notices: Subscription;
  let logText = "";
  const prefix = randomPrefix();

  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), "ws-detections-"));
    db = await createTestDatabase();
    const keys = await createTestKeys(dir);
    receiver = await startWebhookReceiver({ secret });
    nc = await connect({ servers: natsUrl });
    notices = nc.subscribe(`${prefix}.notices`);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logText += chunk.toString();
        done();
      },
    });
    const config = testConfig({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      webhook: { url: receiver.url, secret },
      overrides: { policy: { file: await testPolicy(dir) } },
    });
    broker = await startBroker(config, { log: createLogger("debug", sink) });
    api = new Api(broker.url, await keys.token("alice"));
  });

  after(async () => {
    await broker?.close();
    await receiver?.close();
    await nc?.close();
    await deleteStreams(prefix);
    await db?.drop();
  });

  async function routed(id: string): Promise<{
    zone: string;
    rules: string[];
    detections: Array<Record<string, unknown>>;
    actions: string[];
  }> {
    let routing: unknown = null;
    await waitUntil(
      async () => {
        const response = await api.request<{ routing: unknown }>("GET", `/v1/messages/${id}`);
        routing = response.status === 200 ? response.body.routing : null;
        return routing !== null;
      },
      15_000,
      `routing of ${id}`,
    );
    return routing as {
      zone: string;
      rules: string[];
      detections: Array<Record<string, unknown>>;
      actions: string[];
    };
  }

  test("a card number keeps the message and then the whole conversation on-prem, and notifies", async () => {
    const conversation = await api.createConversation({ title: "support" });
    const text = `customer card ${card} expires soon`;
    const noticeArrived = (async () => {
      for await (const m of notices) {
        const notice = m.json<{ conversationId: string; reason: string; detections: string[] }>();
        if (notice.conversationId === conversation) return notice;
      }
      return null;
    })();
    const id = await api.post(conversation, { text });
    const routing = await routed(id);
    assert.equal(routing.zone, "onprem");
    assert.deepEqual(routing.rules, ["sensitive-detections"]);
    assert.deepEqual(routing.actions, ["notify"]);
    const hit = routing.detections.find((d) => d.type === "payment-card");
    assert.ok(hit, "payment-card detected");
    assert.equal(text.slice(hit.start as number, hit.end as number), card, "offsets point at the number");

    const notice = await noticeArrived;
    assert.deepEqual(notice?.detections, ["payment-card"]);
    assert.match(notice?.reason ?? "", /payment|secret/);

    const next = await api.post(conversation, { text: "thanks, all good" });
    assert.deepEqual((await routed(next)).rules, ["sticky"]);
    const state = await api.request<{ sensitivity: { sensitive: boolean } }>(
      "GET",
      `/v1/conversations/${conversation}`,
    );
    assert.equal(state.body.sensitivity.sensitive, true);

    const stored = await db.pool.query(
      "SELECT detections::text AS d, rules, reason FROM routing_decisions WHERE message_id = $1",
      [id],
    );
    assert.ok(!JSON.stringify(stored.rows).includes("4111"), "the decision never holds the number");
    assert.ok(!logText.includes("4111"), "the logs never hold the number");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(!receiver.deliveries.some((d) => d.message.conversationId === conversation), "nothing relayed");
  });

  test("a Chinese resident ID in Chinese text is caught", async () => {
    const conversation = await api.createConversation({ title: "人事" });
    const text = `我的身份证号是${residentId}，请保密`;
    const routing = await routed(await api.post(conversation, { text }));
    assert.equal(routing.zone, "onprem");
    const hit = routing.detections.find((d) => d.type === "cn-resident-id");
    assert.equal(text.slice(hit?.start as number, hit?.end as number), residentId);
  });

  test("near misses stay normal and are relayed", async () => {
    const conversation = await api.createConversation({ title: "ops" });
    const texts = [
      "Order #1234567890123 shipped",
      "deploy 3f786850e387550fdab836ed7e6dc881de23001b done",
      "please reset your password",
      "tokens start with ghp_ or xoxb-",
      "card 4111 1111 1111 1112 is invalid",
    ];
    const ids: string[] = [];
    for (const text of texts) ids.push(await api.post(conversation, { text }));
    await receiver.waitFor((r) => ids.every((id) => r.uniqueMessages().some((m) => m.id === id)), 15_000);
    for (const id of ids) assert.equal((await routed(id)).zone, "cloud");
  });

  test("a redact rule relays the message with each detected span replaced, and keeps the original on-prem", async () => {
    const conversation = await api.createConversation({ title: "contacts" });
    const text = "write to bob@example.com about it";
    const id = await api.post(conversation, { text });
    await receiver.waitFor((r) => r.uniqueMessages().some((m) => m.id === id), 15_000);
    const relayed = receiver.uniqueMessages().find((m) => m.id === id);
    assert.equal(relayed?.text, "write to [email] about it");
    const routing = await routed(id);
    assert.deepEqual(routing.rules, ["redact-contacts"]);
    assert.deepEqual(routing.actions, ["redact"]);
    const history = await api.request<{ messages: Array<{ text: string }> }>(
      "GET",
      `/v1/conversations/${conversation}/messages`,
    );
    assert.equal(history.body.messages[0]?.text, text);
  });
});
