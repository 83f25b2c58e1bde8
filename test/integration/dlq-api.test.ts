// The dead-letter endpoints of a running broker: role check, list, show, redrive by seq and in
// bulk, and their problems. The relay worker is off, so a redriven envelope stays on RELAY to be
// looked at; the dead letters are published straight to the DLQ.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { startBroker, type Broker } from "../../broker/app.ts";
import { redriveHeader, type DeadLetterPage, type RedriveReport } from "../../broker/dlq/index.ts";
import type { DeadLetter } from "../../broker/nats/envelope.ts";
import { topology, type Topology } from "../../broker/nats/topology.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api, waitUntil } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { publishDeadLetter, publishUnreadable, sampleDeadLetter } from "../helpers/dead-letters.ts";
import { createTestKeys } from "../helpers/keys.ts";
import {
  createTestDatabase,
  deleteStreams,
  natsUrl,
  randomPrefix,
  streamMessageCount,
  type TestDatabase,
} from "../helpers/services.ts";

const partitions = 4;

describe("dead letters over HTTP", () => {
  let db: TestDatabase;
  let broker: Broker;
  let admin: Api;
  let user: Api;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let topo: Topology;
  const prefix = randomPrefix();

  before(async () => {
    db = await createTestDatabase();
    const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
    broker = await startBroker(
      testConfig({
        databaseUrl: db.url,
        prefix,
        jwksFile: keys.jwksFile,
        overrides: { nats: { partitions } },
      }),
      { workers: { relay: false } },
    );
    admin = new Api(broker.url, await keys.token("sam", ["security-admin"]));
    user = new Api(broker.url, await keys.token("alice"));
    nc = await connect({ servers: natsUrl });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    topo = topology(prefix, partitions);
  });

  after(async () => {
    await broker?.close();
    await nc?.close();
    await deleteStreams(prefix);
    await db?.drop();
  });

  test("needs the security-admin role", async () => {
    for (const [method, path, body] of [
      ["GET", "/v1/dlq", undefined],
      ["GET", "/v1/dlq/1", undefined],
      ["POST", "/v1/dlq/1/redrive", undefined],
      ["POST", "/v1/dlq/redrive", { all: true }],
    ] as const) {
      const response = await user.request(method, path, body);
      assert.equal(response.status, 403, `${method} ${path}`);
      assert.equal(response.body.type, "urn:watershed:problem:forbidden");
    }
  });

  test("list, show, redrive one, redrive in bulk", async () => {
    const letters = [
      sampleDeadLetter({ connector: "webhook", text: "not for the list" }),
      sampleDeadLetter({ connector: "slack" }),
      sampleDeadLetter({ connector: "webhook" }),
    ];
    const seqs: number[] = [];
    for (const letter of letters) seqs.push(await publishDeadLetter(js, topo, letter));
    const unreadable = await publishUnreadable(js, topo);

    const page = await admin.request<DeadLetterPage>("GET", "/v1/dlq?limit=2");
    assert.equal(page.status, 200);
    assert.deepEqual(
      page.body.deadLetters.map((l) => l.seq),
      seqs.slice(0, 2),
    );
    assert.equal(page.body.next, seqs[1]);
    assert.doesNotMatch(JSON.stringify(page.body), /not for the list/);
    const rest = await admin.request<DeadLetterPage>(
      "GET",
      `/v1/dlq?after=${page.body.next}&connector=webhook`,
    );
    assert.deepEqual(
      rest.body.deadLetters.map((l) => l.seq),
      [seqs[2]],
    );
    assert.equal(rest.body.next, null);

    const shown = await admin.request("GET", `/v1/dlq/${seqs[0]}`);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.seq, seqs[0]);
    assert.deepEqual(shown.body.letter, letters[0]);

    const one = await admin.request<RedriveReport>("POST", `/v1/dlq/${seqs[0]}/redrive`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    const [redriven] = one.body.redriven;
    assert.ok(redriven);
    const onRelay = await jsm.streams.getMessage(topo.streams.relay, { seq: redriven.relaySeq });
    assert.equal(onRelay?.header.get(redriveHeader), String(seqs[0]));
    const again = await admin.request("POST", `/v1/dlq/${seqs[0]}/redrive`);
    assert.equal(again.status, 404);
    assert.equal(again.body.type, "urn:watershed:problem:dead-letter-not-found");

    const bulk = await admin.request<RedriveReport>("POST", "/v1/dlq/redrive", { seqs: [seqs[1], seqs[0]] });
    assert.equal(bulk.status, 200);
    assert.deepEqual(
      bulk.body.redriven.map((r) => r.seq),
      [seqs[1]],
    );
    assert.deepEqual(bulk.body.missing, [seqs[0]]);

    const all = await admin.request<RedriveReport>("POST", "/v1/dlq/redrive", {
      all: true,
      connector: "webhook",
    });
    assert.deepEqual(
      all.body.redriven.map((r) => r.seq),
      [seqs[2]],
    );
    const left = await admin.request<DeadLetterPage>("GET", "/v1/dlq");
    assert.deepEqual(
      left.body.deadLetters.map((l) => [l.seq, l.reason]),
      [[unreadable, "unreadable"]],
    );
    const stuck = await admin.request("POST", `/v1/dlq/${unreadable}/redrive`);
    assert.equal(stuck.status, 422);
    assert.equal(stuck.body.type, "urn:watershed:problem:dead-letter-unreadable");
  });

  test("problems: unknown seq, bad parameters, bad bodies", async () => {
    const missing = await admin.request("GET", "/v1/dlq/987654");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.type, "urn:watershed:problem:dead-letter-not-found");
    assert.match(String(missing.body.detail), /987654/);
    for (const path of [
      "/v1/dlq/abc",
      "/v1/dlq/0",
      "/v1/dlq?limit=0",
      "/v1/dlq?after=-1",
      "/v1/dlq?color=red",
    ]) {
      const response = await admin.request("GET", path);
      assert.equal(response.status, 400, path);
      assert.equal(response.body.type, "urn:watershed:problem:invalid-parameter", path);
    }
    for (const body of [{}, { all: false }, { seqs: [] }, { seqs: ["1"] }, { all: true, seqs: [1] }]) {
      const response = await admin.request("POST", "/v1/dlq/redrive", body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.body.type, "urn:watershed:problem:invalid-body", JSON.stringify(body));
    }
  });
});

describe("a redriven letter through a running relay", () => {
  const secret = "dlq-test-webhook-secret";
  const prefix = randomPrefix();
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let broker: Broker;
  let admin: Api;
  let user: Api;
  let nc: NatsConnection;
  let js: JetStreamClient;
  const topo = topology(prefix, 2);
  /** What the fake cloud answers next; 200 when the list is empty. */
  const answers: number[] = [];

  before(async () => {
    db = await createTestDatabase();
    const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
    receiver = await startWebhookReceiver({ secret, status: () => answers.shift() ?? 200 });
    broker = await startBroker(
      testConfig({
        databaseUrl: db.url,
        prefix,
        jwksFile: keys.jwksFile,
        webhook: { url: receiver.url, secret },
        overrides: { nats: { partitions: 2 } },
      }),
    );
    admin = new Api(broker.url, await keys.token("sam", ["security-admin"]));
    user = new Api(broker.url, await keys.token("alice"));
    nc = await connect({ servers: natsUrl });
    js = jetstream(nc);
  });

  after(async () => {
    await broker?.close();
    await nc?.close();
    await receiver?.close();
    await deleteStreams(prefix);
    await db?.drop();
  });

  test("is delivered once, and a second redrive of it sends nothing", async () => {
    const conversation = await user.createConversation({ title: "bad channel for a while" });
    answers.push(400);
    const id = await user.post(conversation, { text: "refused at first" });
    let seq = 0;
    await waitUntil(
      async () => {
        const page = await admin.request<DeadLetterPage>("GET", "/v1/dlq");
        seq = page.body.deadLetters.find((l) => l.messageId === id)?.seq ?? 0;
        return seq > 0;
      },
      15_000,
      "the dead letter",
    );
    const shown = await admin.request<{ letter: DeadLetter }>("GET", `/v1/dlq/${seq}`);
    const letter = shown.body.letter;

    const report = await admin.request<RedriveReport>("POST", `/v1/dlq/${seq}/redrive`);
    assert.equal(report.status, 200);
    await receiver.waitFor(() => receiver.uniqueMessages().some((m) => m.id === id), 15_000);

    // The same letter once more (as if dead-lettered twice): the relay sees the delivery and skips it.
    const again = await publishDeadLetter(js, topo, letter);
    assert.equal((await admin.request("POST", `/v1/dlq/${again}/redrive`)).status, 200);
    await waitUntil(async () => (await streamMessageCount(prefix, "RELAY")) === 0, 15_000, "RELAY drained");
    assert.equal(receiver.deliveries.filter((d) => d.message.id === id).length, 1);
    assert.deepEqual((await admin.request<DeadLetterPage>("GET", "/v1/dlq")).body.deadLetters, []);
  });
});
