// The Slack connector against the fake Slack (real HTTP): outbound calls, unknown outcomes, health,
// rate limits and outages, and signed Events API deliveries coming back in.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Message } from "../../policies/model.ts";
import { startFakeSlack } from "../../test/fakes/slack/index.ts";
import type { FakeSlack } from "../../test/fakes/slack/index.ts";
import { testMessage } from "../../test/helpers/messages.ts";
import {
  Capability,
  ConnectorPermanentError,
  ConnectorRateLimitedError,
  ConnectorTransientError,
  connectorFactories,
  slackConnector,
} from "../index.ts";
import type { Connector, InboundResult } from "../index.ts";
import { methodsCalled, rejectsWith as rejectsLeaking, withFake } from "./test-support.ts";

/** Short, so outage tests end quickly; the fake answers loopback calls in a few ms. */
const TIMEOUT_MS = 300;
const TEXT = 'Q3 numbers "do-not-leak-51c2"';

const makeMessage = (overrides: Partial<Message> = {}): Message => testMessage({ text: TEXT, ...overrides });

function connect(fake: FakeSlack, overrides: Record<string, unknown> = {}): Connector {
  const config = slackConnector.configSchema.parse({
    botToken: fake.botToken,
    signingSecret: fake.signingSecret,
    apiBaseUrl: fake.apiUrl,
    timeoutMs: TIMEOUT_MS,
    ...overrides,
  });
  return slackConnector.create(config, { fetch: globalThis.fetch, now: Date.now });
}

/** Awaits a rejection of `errorClass` whose message leaks neither a secret nor the test's text. */
function rejectsWith<E extends Error>(
  fake: FakeSlack,
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => E,
): Promise<E> {
  return rejectsLeaking(fake, promise, errorClass, ["do-not-leak-51c2"]);
}

describe("the Slack connector's static side", () => {
  test("is registered under its kind, with the promised capabilities and rate limits", async () => {
    assert.equal(connectorFactories.get("slack"), slackConnector);
    await withFake(async (fake) => {
      const connector = connect(fake, { perChannelPerSecond: 0.5, perChannelBurst: 2, overallPerSecond: 30 });
      assert.equal(connector.kind, "slack");
      assert.deepEqual(
        [...connector.capabilities].sort(),
        [
          Capability.deletes,
          Capability.edits,
          Capability.files,
          Capability.notices,
          Capability.reactions,
          Capability.threads,
        ].sort(),
      );
      assert.ok(!connector.capabilities.has(Capability.idempotentSend));
      assert.deepEqual(connector.rateLimits, {
        perChannel: { perSecond: 0.5, burst: 2 },
        overall: { perSecond: 30, burst: 30 },
      });
      assert.equal(typeof connector.edit, "function");
      assert.equal(typeof connector.delete, "function");
      assert.equal(typeof connector.react, "function");
      assert.equal(typeof connector.notice, "function");
      assert.equal(typeof connector.uploadFile, "function");
      assert.ok(connector.inbound);
    });
  });
});

describe("Slack connector against the fake Slack", () => {
  test("send, edit, react, notice and delete", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("general");
      const connector = connect(fake);
      const message = makeMessage();

      const { externalId } = await connector.send({ channel, message, threadOf: null, maybeSent: false });
      const [posted] = fake.messages(channel);
      assert.ok(posted);
      assert.equal(externalId, `${channel}:${posted.ts}`);
      assert.equal(posted.text, TEXT);
      assert.equal(posted.bot_id, fake.botId);
      assert.equal(posted.username, "alice");
      assert.deepEqual(posted.metadata, {
        event_type: "watershed_message",
        event_payload: { message_id: message.id },
      });

      const edited = makeMessage({ kind: "edit", text: "edited text", targetId: message.id });
      await connector.edit?.({ channel, message: edited, target: externalId, maybeSent: false });
      assert.equal(fake.messages(channel)[0]?.text, "edited text");
      assert.equal(fake.messages(channel)[0]?.edited, true);

      const reaction = makeMessage({ kind: "reaction", text: ":thumbsup:", targetId: message.id });
      await connector.react?.({ channel, message: reaction, target: externalId, maybeSent: false });
      // Already there counts as added.
      await connector.react?.({ channel, message: reaction, target: externalId, maybeSent: true });
      assert.deepEqual(fake.messages(channel)[0]?.reactions, [{ name: "thumbsup", users: [fake.botUserId] }]);

      const notice = await connector.notice?.({
        channel,
        text: "This conversation continues on-prem.",
        key: "reclassified:42",
        maybeSent: false,
      });
      const noticed = fake.messages(channel)[1];
      assert.equal(notice?.externalId, `${channel}:${noticed?.ts}`);
      assert.equal(noticed?.text, "This conversation continues on-prem.");
      assert.deepEqual(noticed?.metadata, {
        event_type: "watershed_notice",
        event_payload: { key: "reclassified:42" },
      });

      await connector.delete?.({ channel, target: externalId, reason: "author", maybeSent: false });
      assert.deepEqual(fake.deleted(channel), [posted.ts]);
      // Already gone counts as deleted.
      await connector.delete?.({ channel, target: externalId, reason: "author", maybeSent: true });
      assert.deepEqual(fake.deleted(channel), [posted.ts]);
      assert.equal(connector.health().healthy, true);
    });
  });

  test("a reply goes into its parent's thread", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("threads");
      const connector = connect(fake);
      const parent = await connector.send({
        channel,
        message: makeMessage(),
        threadOf: null,
        maybeSent: false,
      });
      const reply = makeMessage({ text: "a reply" });
      const { externalId } = await connector.send({
        channel,
        message: reply,
        threadOf: parent.externalId,
        maybeSent: false,
      });
      const [root, child] = fake.messages(channel);
      assert.equal(parent.externalId, `${channel}:${root?.ts}`);
      assert.equal(externalId, `${channel}:${child?.ts}`);
      assert.equal(child?.thread_ts, root?.ts);
      assert.equal(root?.thread_ts, null);
    });
  });

  test("a reply whose parent was deleted in Slack meanwhile is posted in the channel", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("gone-parent");
      const connector = connect(fake);
      const parent = await connector.send({
        channel,
        message: makeMessage(),
        threadOf: null,
        maybeSent: false,
      });
      await connector.delete!({ channel, target: parent.externalId, reason: "author", maybeSent: false });
      const reply = makeMessage({ text: "a late reply" });
      const { externalId } = await connector.send({
        channel,
        message: reply,
        threadOf: parent.externalId,
        maybeSent: false,
      });
      const [posted] = fake.messages(channel);
      assert.equal(posted?.text, "a late reply");
      assert.equal(posted.thread_ts, null);
      assert.equal(externalId, `${channel}:${posted.ts}`);
    });
  });

  test("an unknown target is a permanent failure, before any call", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("targets");
      const connector = connect(fake);
      const message = makeMessage({ kind: "edit" });
      await rejectsWith(
        fake,
        connector.edit?.({ channel, message, target: "wh_not-slack", maybeSent: false }) ?? Promise.resolve(),
        ConnectorPermanentError,
      );
      assert.equal(fake.calls().length, 0);
    });
  });

  test("a message's own fault is permanent and leaves the connector healthy", async () => {
    await withFake(async (fake) => {
      const archived = fake.createChannel("old");
      fake.archiveChannel(archived);
      const connector = connect(fake);
      const err = await rejectsWith(
        fake,
        connector.send({ channel: archived, message: makeMessage(), threadOf: null, maybeSent: false }),
        ConnectorPermanentError,
      );
      assert.match(err.message, /is_archived/);
      await rejectsWith(
        fake,
        connector.send({ channel: "C0NOSUCH1", message: makeMessage(), threadOf: null, maybeSent: false }),
        ConnectorPermanentError,
      );
      const tooLong = makeMessage({ text: "x".repeat(40_001) });
      const long = await rejectsWith(
        fake,
        connector.send({
          channel: fake.createChannel("long"),
          message: tooLong,
          threadOf: null,
          maybeSent: false,
        }),
        ConnectorPermanentError,
      );
      assert.match(long.message, /msg_too_long/);
      assert.equal(connector.health().healthy, true);
    });
  });
});

describe("retracting a message", () => {
  test("our own post goes with the bot token, without an admin token", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("own");
      const connector = connect(fake);
      const { externalId } = await connector.send({
        channel,
        message: makeMessage(),
        threadOf: null,
        maybeSent: false,
      });
      await connector.delete?.({ channel, target: externalId, reason: "retract", maybeSent: false });
      assert.equal(fake.messages(channel).length, 0);
    });
  });

  test("a Slack user's message needs the admin token", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("people");
      const bob = fake.createUser("bob");
      const { ts } = await fake.postAsUser(bob, channel, "written in Slack");
      const target = `${channel}:${ts}`;

      const withoutAdmin = connect(fake);
      const err = await rejectsWith(
        fake,
        withoutAdmin.delete?.({ channel, target, reason: "retract", maybeSent: false }) ?? Promise.resolve(),
        ConnectorPermanentError,
      );
      assert.match(err.message, /adminToken/);
      assert.equal(fake.messages(channel).length, 1);
      assert.equal(withoutAdmin.health().healthy, true);

      // A delete by its author, of someone else's message, is not turned into a retraction.
      const withAdmin = connect(fake, { adminToken: fake.adminToken });
      await rejectsWith(
        fake,
        withAdmin.delete?.({ channel, target, reason: "author", maybeSent: false }) ?? Promise.resolve(),
        ConnectorPermanentError,
      );
      assert.equal(fake.messages(channel).length, 1);

      await withAdmin.delete?.({ channel, target, reason: "retract", maybeSent: false });
      assert.deepEqual(fake.deleted(channel), [ts]);
      // A retry after it is gone is done, too.
      await withAdmin.delete?.({ channel, target, reason: "retract", maybeSent: true });
      const deletes = fake.calls().filter((call) => call.method === "chat.delete" && call.ok);
      assert.equal(deletes.length, 1);
    });
  });
});

describe("an unknown outcome (maybeSent)", () => {
  test("finds a post that landed before the timeout and posts nothing twice", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("outcome");
      const connector = connect(fake);
      // Other traffic in the channel, so the lookup has to pick ours out.
      await connector.send({
        channel,
        message: makeMessage({ text: "before" }),
        threadOf: null,
        maybeSent: false,
      });
      const message = makeMessage();

      fake.setOutage("commit-then-timeout");
      await rejectsWith(
        fake,
        connector.send({ channel, message, threadOf: null, maybeSent: false }),
        ConnectorTransientError,
      );
      fake.setOutage(null);
      assert.equal(fake.messages(channel).length, 2, "the post landed although its answer never came");
      await connector.send({
        channel,
        message: makeMessage({ text: "after" }),
        threadOf: null,
        maybeSent: false,
      });

      const posts = methodsCalled(fake, "chat.postMessage");
      const { externalId } = await connector.send({ channel, message, threadOf: null, maybeSent: true });
      const landed = fake.messages(channel)[1];
      assert.equal(externalId, `${channel}:${landed?.ts}`);
      assert.equal(methodsCalled(fake, "chat.postMessage"), posts, "no second post");
      assert.equal(fake.messages(channel).length, 3);
      assert.ok(methodsCalled(fake, "conversations.history") >= 1);
    });
  });

  test("pages through a busy channel to find it", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("busy");
      const connector = connect(fake, { timeoutMs: 2000 });
      const message = makeMessage();
      fake.setOutage("commit-then-timeout");
      await rejectsWith(
        fake,
        connect(fake).send({ channel, message, threadOf: null, maybeSent: false }),
        ConnectorTransientError,
      );
      fake.setOutage(null);
      // More than one page (200) of later messages pushes ours past the first page, newest first.
      const bob = fake.createUser("bob");
      for (let i = 0; i < 230; i++) await fake.postAsUser(bob, channel, `chatter ${i}`);
      const { externalId } = await connector.send({ channel, message, threadOf: null, maybeSent: true });
      assert.equal(externalId, `${channel}:${fake.messages(channel)[0]?.ts}`);
      assert.equal(methodsCalled(fake, "chat.postMessage"), 1);
      assert.equal(methodsCalled(fake, "conversations.history"), 2);
    });
  });

  test("finds a thread reply with conversations.replies", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("thread-outcome");
      const connector = connect(fake);
      const parent = await connector.send({
        channel,
        message: makeMessage(),
        threadOf: null,
        maybeSent: false,
      });
      const reply = makeMessage({ text: "reply" });
      fake.setOutage("commit-then-timeout");
      await rejectsWith(
        fake,
        connector.send({ channel, message: reply, threadOf: parent.externalId, maybeSent: false }),
        ConnectorTransientError,
      );
      fake.setOutage(null);
      const posts = methodsCalled(fake, "chat.postMessage");
      const { externalId } = await connector.send({
        channel,
        message: reply,
        threadOf: parent.externalId,
        maybeSent: true,
      });
      const child = fake.messages(channel)[1];
      assert.equal(externalId, `${channel}:${child?.ts}`);
      assert.equal(methodsCalled(fake, "chat.postMessage"), posts);
      assert.ok(methodsCalled(fake, "conversations.replies") >= 1);
    });
  });

  test("finds a notice by its key", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("notice-outcome");
      const connector = connect(fake);
      const notice = { channel, text: "continues on-prem", key: "reclassified:7" };
      fake.setOutage("commit-then-timeout");
      await rejectsWith(
        fake,
        connector.notice?.({ ...notice, maybeSent: false }) ?? Promise.resolve(),
        ConnectorTransientError,
      );
      fake.setOutage(null);
      const result = await connector.notice?.({ ...notice, maybeSent: true });
      assert.equal(result?.externalId, `${channel}:${fake.messages(channel)[0]?.ts}`);
      assert.equal(fake.messages(channel).length, 1);
      assert.equal(methodsCalled(fake, "chat.postMessage"), 1);
    });
  });

  test("posts when the earlier attempt never landed", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("lost");
      const connector = connect(fake);
      const message = makeMessage();
      fake.setOutage("timeout");
      await rejectsWith(
        fake,
        connector.send({ channel, message, threadOf: null, maybeSent: false }),
        ConnectorTransientError,
      );
      fake.setOutage(null);
      assert.equal(fake.messages(channel).length, 0);
      const { externalId } = await connector.send({ channel, message, threadOf: null, maybeSent: true });
      assert.equal(fake.messages(channel).length, 1);
      assert.equal(externalId, `${channel}:${fake.messages(channel)[0]?.ts}`);
    });
  });
});

describe("Slack connector health", () => {
  test("checkHealth runs auth.test and learns the bot", async () => {
    await withFake(async (fake) => {
      const connector = connect(fake);
      const health = await connector.checkHealth();
      assert.equal(health.healthy, true);
      assert.match(health.detail, new RegExp(fake.botUserId));
      assert.equal(methodsCalled(fake, "auth.test"), 1);
    });
  });

  test("a revoked token is permanent and unhealthy at once; a new token makes a healthy connector", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("revoked");
      const connector = connect(fake);
      fake.revoke(fake.botToken);
      const err = await rejectsWith(
        fake,
        connector.send({ channel, message: makeMessage(), threadOf: null, maybeSent: false }),
        ConnectorPermanentError,
      );
      assert.match(err.message, /token_revoked/);
      const health = connector.health();
      assert.equal(health.healthy, false);
      assert.match(health.detail, /bot token \(token_revoked\)/);
      assert.ok(!health.detail.includes(fake.botToken));
      assert.equal((await connector.checkHealth()).healthy, false);

      const fixed = connect(fake, { botToken: fake.issueBotToken() });
      assert.equal((await fixed.checkHealth()).healthy, true);
      await fixed.send({ channel, message: makeMessage(), threadOf: null, maybeSent: false });
      assert.equal(fake.messages(channel).length, 1);
    });
  });

  test("a revoked admin token shows in health and is cleared by a later good check", async () => {
    await withFake(async (fake) => {
      const connector = connect(fake, { adminToken: fake.adminToken });
      assert.equal((await connector.checkHealth()).healthy, true);
      fake.revoke(fake.adminToken);
      const health = await connector.checkHealth();
      assert.equal(health.healthy, false);
      assert.match(health.detail, /admin token \(token_revoked\)/);
      assert.ok(!health.detail.includes(fake.adminToken));
    });
  });

  test("an unreachable Slack makes checkHealth unhealthy until a call succeeds", async () => {
    await withFake(async (fake) => {
      const connector = connect(fake);
      fake.setOutage("error500");
      const down = await connector.checkHealth();
      assert.equal(down.healthy, false);
      assert.match(down.detail, /HTTP 500/);
      fake.setOutage(null);
      assert.equal((await connector.checkHealth()).healthy, true);
    });
  });
});

describe("Slack rate limits and outages", () => {
  test("a 429 is ConnectorRateLimitedError with Retry-After in ms", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("limited");
      const connector = connect(fake);
      fake.rateLimitNext(channel, 1, 7);
      const err = await rejectsWith(
        fake,
        connector.send({ channel, message: makeMessage(), threadOf: null, maybeSent: false }),
        ConnectorRateLimitedError,
      );
      assert.equal(err.retryAfterMs, 7000);
      assert.equal(err.status, 429);
      assert.equal(fake.messages(channel).length, 0);
      assert.equal(connector.health().healthy, true);
    });
  });

  test("the fake's own per-channel limit surfaces the same way", async () => {
    await withFake(
      async (fake) => {
        const channel = fake.createChannel("bursty");
        const connector = connect(fake);
        const send = () =>
          connector.send({ channel, message: makeMessage(), threadOf: null, maybeSent: false });
        await send();
        const err = await rejectsWith(fake, send(), ConnectorRateLimitedError);
        assert.ok(err.retryAfterMs >= 1000);
      },
      { perChannelPerSecond: 0.1, perChannelBurst: 1 },
    );
  });

  test("HTTP 500 and a timeout are transient", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("outage");
      const connector = connect(fake);
      fake.setOutage("error500");
      const failed = await rejectsWith(
        fake,
        connector.send({ channel, message: makeMessage(), threadOf: null, maybeSent: false }),
        ConnectorTransientError,
      );
      assert.ok(!(failed instanceof ConnectorRateLimitedError));
      assert.equal(failed.status, 500);

      fake.setOutage("timeout");
      const started = Date.now();
      const slow = await rejectsWith(
        fake,
        connector.send({ channel, message: makeMessage(), threadOf: null, maybeSent: false }),
        ConnectorTransientError,
      );
      assert.match(slow.message, new RegExp(`timed out after ${TIMEOUT_MS} ms`));
      assert.ok(Date.now() - started < TIMEOUT_MS + 2000);
      fake.setOutage(null);
      assert.equal(fake.messages(channel).length, 0);
      assert.equal(connector.health().healthy, true);
    });
  });
});

describe("Events API deliveries from the fake Slack", () => {
  let fake: FakeSlack;
  let connector: Connector;
  let results: InboundResult[];
  let closeReceiver: () => Promise<void>;

  before(async () => {
    fake = await startFakeSlack({ perChannelPerSecond: 1000, perChannelBurst: 1000 });
    connector = connect(fake);
    results = [];
    const inbound = connector.inbound;
    assert.ok(inbound);
    // A receiver that answers the way the broker's route will: 401 on rejection, the reply as JSON, else 200.
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const result = inbound.handle({ headers: req.headers, rawBody: Buffer.concat(chunks) });
        results.push(result);
        if (result.kind === "rejected") res.writeHead(401).end();
        else if (result.kind === "reply")
          res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result.body));
        else res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    fake.setEventsUrl(`http://127.0.0.1:${port}/slack/events`);
    closeReceiver = async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  });

  after(async () => {
    await fake.close();
    await closeReceiver();
  });

  test("answers the url_verification challenge", async () => {
    const delivery = await fake.urlVerification();
    assert.equal(delivery.status, 200);
    assert.deepEqual(JSON.parse(delivery.body), { challenge: delivery.challenge });
  });

  test("a user's post, reply, edit, reaction and delete come in as canonical events", async () => {
    const channel = fake.createChannel("inbound");
    const bob = fake.createUser("bob");
    results.length = 0;
    const post = await fake.postAsUser(bob, channel, "hello from Slack");
    const reply = await fake.postAsUser(bob, channel, "in the thread", { threadTs: post.ts });
    const edit = await fake.editAsUser(bob, channel, post.ts, "hello, edited");
    const reaction = await fake.reactAsUser(bob, channel, post.ts, "eyes");
    const removal = await fake.deleteAsUser(bob, channel, reply.ts);
    await fake.idle();
    const events = results.flatMap((result) => (result.kind === "events" ? result.events : []));
    assert.deepEqual(events, [
      {
        eventId: post.eventId,
        channel,
        user: bob,
        kind: "message",
        text: "hello from Slack",
        externalId: `${channel}:${post.ts}`,
        threadOf: null,
        target: null,
        files: [],
      },
      {
        eventId: reply.eventId,
        channel,
        user: bob,
        kind: "message",
        text: "in the thread",
        externalId: `${channel}:${reply.ts}`,
        threadOf: `${channel}:${post.ts}`,
        target: null,
        files: [],
      },
      {
        eventId: edit.eventId,
        channel,
        user: bob,
        kind: "edit",
        text: "hello, edited",
        externalId: null,
        threadOf: null,
        target: `${channel}:${post.ts}`,
        files: [],
      },
      {
        eventId: reaction.eventId,
        channel,
        user: bob,
        kind: "reaction",
        text: "eyes",
        externalId: null,
        threadOf: null,
        target: `${channel}:${post.ts}`,
        files: [],
      },
      {
        eventId: removal.eventId,
        channel,
        user: bob,
        kind: "delete",
        text: "",
        externalId: null,
        threadOf: null,
        target: `${channel}:${reply.ts}`,
        files: [],
      },
    ]);
  });

  test("echoes of our own writes are verified and dropped", async () => {
    const channel = fake.createChannel("echo");
    results.length = 0;
    const { externalId } = await connector.send({
      channel,
      message: makeMessage(),
      threadOf: null,
      maybeSent: false,
    });
    const edited = makeMessage({ kind: "edit", text: "changed" });
    await connector.edit?.({ channel, message: edited, target: externalId, maybeSent: false });
    const reaction = makeMessage({ kind: "reaction", text: "eyes" });
    await connector.react?.({ channel, message: reaction, target: externalId, maybeSent: false });
    await connector.delete?.({ channel, target: externalId, reason: "author", maybeSent: false });
    await fake.idle();
    assert.equal(results.length, 4, "every echo was delivered");
    assert.deepEqual(results, Array(4).fill({ kind: "events", events: [] }));
  });

  test("forged, tampered and stale deliveries are rejected", async () => {
    const channel = fake.createChannel("attacks");
    const bob = fake.createUser("bob");
    const post = await fake.postAsUser(bob, channel, "original");
    const forged = await fake.deliver(post.eventId, { signature: `v0=${"0".repeat(64)}` });
    assert.equal(forged.status, 401);
    const tampered = await fake.deliver(post.eventId, {
      tamper: (body) => body.replace("original", "changed!"),
    });
    assert.equal(tampered.status, 401);
    const stale = await fake.deliver(post.eventId, { timestamp: Math.floor(Date.now() / 1000) - 301 });
    assert.equal(stale.status, 401);
    const again = await fake.deliver(post.eventId, { retryNum: 1, retryReason: "http_timeout" });
    assert.equal(again.status, 200);
    const last = results.at(-1);
    assert.equal(
      last?.kind === "events" ? last.events[0]?.eventId : null,
      post.eventId,
      "a retry keeps its event id",
    );
  });
});
