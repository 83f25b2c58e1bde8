// The relay to Slack under faults, on real NATS and PostgreSQL with the fake Slack: a burst into
// one channel kept under Slack's per-channel limit, a 429 that holds back only its channel, a
// revoked token that dead-letters and a redrive once it is fixed, and a 30-second outage (500s,
// timeouts, and calls that land but are never answered) after which every message is in Slack
// exactly once, in order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { partitionOf } from "../../broker/nats/topology.ts";
import { waitUntil } from "../helpers/api.ts";
import { runCli } from "../helpers/cli.ts";
import { startSlackSetup, type SlackSetup } from "../helpers/slack-broker.ts";

const partitions = 8;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("Slack relay under faults", () => {
  let setup: SlackSetup;

  before(async () => {
    setup = await startSlackSetup({
      fake: { perChannelPerSecond: 10, perChannelBurst: 5 },
      slack: { perChannelPerSecond: 10, perChannelBurst: 5, timeoutMs: 800 },
      overrides: {
        nats: { partitions },
        // A 30-second outage must not use up the attempts: 1 s backoff at most, many attempts.
        relay: { maxAttempts: 500, backoffBaseMs: 100, backoffMaxMs: 1000 },
      },
    });
  });
  after(async () => {
    await setup?.close();
  });

  /** Bound conversations whose partitions all differ from `avoid`'s. */
  async function conversationsApart(count: number, name: string, avoid: number[] = []) {
    const found: Array<{ conversationId: string; channel: string }> = [];
    const used = new Set(avoid);
    while (found.length < count) {
      const bound = await setup.boundConversation(`${name}-${found.length}-${Date.now()}`);
      const partition = partitionOf(bound.conversationId, partitions);
      if (used.has(partition)) continue;
      used.add(partition);
      found.push(bound);
    }
    return found;
  }

  test("a burst of 100 into one channel keeps to the per-channel limit with no failed post", async () => {
    const { slack, api } = setup;
    const { conversationId, channel } = await setup.boundConversation("burst");
    for (let i = 0; i < 100; i++) await api.post(conversationId, { text: `burst ${i}` });
    await waitUntil(async () => slack.messages(channel).length === 100, 60_000, "100 posts in Slack");
    assert.deepEqual(
      slack.messages(channel).map((m) => m.text),
      Array.from({ length: 100 }, (_, i) => `burst ${i}`),
    );
    const posts = slack.calls().filter((c) => c.channel === channel && c.method === "chat.postMessage");
    assert.deepEqual(
      posts.filter((c) => !c.ok).map((c) => ({ error: c.error, at: c.at - (posts[0]?.at ?? 0) })),
      [],
      "no post refused: the relay queued the burst instead",
    );
    assert.equal(posts.length, 100, "one call per message");
    // 100 posts at 10/s with a burst of 5 cannot take less than 9.5 s.
    const span = (posts.at(-1)?.at ?? 0) - (posts[0]?.at ?? 0);
    assert.ok(span >= 9000, `the burst was spread over ${span} ms`);
  });

  test("a 429 with Retry-After: 2 delays that channel and not the others", async () => {
    const { slack, api } = setup;
    const [limited, other] = await conversationsApart(2, "retry-after");
    assert.ok(limited && other);
    slack.rateLimitNext(limited.channel, 1, 2);
    const sentAt = Date.now();
    await Promise.all([
      api.post(limited.conversationId, { text: "held back" }),
      api.post(other.conversationId, { text: "goes on" }),
    ]);
    await waitUntil(async () => slack.messages(other.channel).length === 1, 10_000, "the other channel");
    const otherAt = Date.now() - sentAt;
    await waitUntil(async () => slack.messages(limited.channel).length === 1, 10_000, "the limited channel");
    const posts = slack
      .calls()
      .filter((c) => c.channel === limited.channel && c.method === "chat.postMessage");
    assert.equal(posts.length, 2, "one 429, then one post");
    assert.equal(posts[0]?.status, 429);
    const waited = (posts[1]?.at ?? 0) - (posts[0]?.at ?? 0);
    assert.ok(waited >= 1950, `the limited channel waited ${waited} ms after its 429`);
    assert.ok(otherAt < 1500, `the other channel was not held back (${otherAt} ms)`);
  });

  test("token_revoked: unhealthy at once, messages dead-lettered, redriven after the token is fixed", async () => {
    const { slack } = setup;
    const { conversationId, channel } = await setup.boundConversation("revoked");
    slack.revoke(setup.slack.botToken);
    const ids: string[] = [];
    for (const text of ["one", "two", "three"]) ids.push(await setup.api.post(conversationId, { text }));
    // An edit of a message that is in the DLQ waits there too, behind it.
    await waitUntil(
      async () =>
        (await setup.db.pool.query("SELECT 1 FROM messages WHERE id = $1", [ids[0]])).rowCount === 1,
      10_000,
      "the first message stored",
    );
    await setup.api.post(conversationId, { kind: "edit", targetId: ids[0], text: "one, edited" });

    const adminToken = await setup.keys.token("sec", ["security-admin"]);
    const deadLetters = async () =>
      (
        await setup.api
          .as(adminToken)
          .request<{ deadLetters: Array<{ messageId: string; connector: string; reason: string }> }>(
            "GET",
            "/v1/dlq?connector=slack",
          )
      ).body.deadLetters;
    await waitUntil(async () => (await deadLetters()).length === 4, 10_000, "four dead letters");
    const reasons = (await deadLetters()).map((l) => l.reason);
    assert.ok(
      reasons.slice(0, 3).every((r) => /token_revoked/.test(r)),
      reasons.join("\n"),
    );
    assert.match(reasons[3] ?? "", /target .* is not in slack/);
    const connectors = await setup.api.request<{
      connectors: Array<{ kind: string; healthy: boolean; detail: string }>;
    }>("GET", "/v1/connectors");
    const status = connectors.body.connectors.find((c) => c.kind === "slack");
    assert.equal(status?.healthy, false);
    assert.match(status.detail, /token_revoked/);
    assert.ok(!status.detail.includes(slack.botToken), "the token itself is never shown");
    assert.equal(slack.messages(channel).length, 0);

    // The operator installs a new token and restarts, then redrives with the CLI.
    await setup.restart({ botToken: slack.issueBotToken() });
    const healthy = await setup.api
      .as(adminToken)
      .request<{ connectors: Array<{ kind: string; healthy: boolean }> }>("GET", "/v1/connectors?check=true");
    assert.equal(healthy.body.connectors.find((c) => c.kind === "slack")?.healthy, true);
    const redrive = await runCli(["dlq", "redrive", "--all", "--connector", "slack"], {
      env: {
        WATERSHED_NATS_PREFIX: setup.prefix,
        WATERSHED_NATS_PARTITIONS: String(partitions),
        WATERSHED_POSTGRES_URL: setup.db.url,
      },
    });
    assert.equal(redrive.code, 0, redrive.stderr);
    await waitUntil(
      async () =>
        slack
          .messages(channel)
          .map((m) => m.text)
          .join("|") === "one, edited|two|three",
      15_000,
      "the redriven messages, the edit applied",
    );
    assert.equal((await deadLetters()).length, 0, "the dead letters are gone");
  });

  test("a 30-second outage during 1,000 messages over 20 conversations: each in Slack once, in order", async () => {
    const { slack, api } = setup;
    const conversations = await Promise.all(
      Array.from({ length: 20 }, (_, i) => setup.boundConversation(`outage-${i}`)),
    );
    const perConversation = 50;
    const producer = (async () => {
      for (let n = 0; n < perConversation; n++) {
        await Promise.all(
          conversations.map((c, i) =>
            api.post(c.conversationId, { text: `c${i} #${n}`, clientMsgId: `outage-${i}-${n}` }),
          ),
        );
        await sleep(40);
      }
    })();
    const outage = (async () => {
      await sleep(500);
      slack.setOutage("error500");
      await sleep(10_000);
      slack.setOutage("timeout");
      await sleep(10_000);
      slack.setOutage("commit-then-timeout");
      await sleep(10_000);
      slack.setOutage(null);
    })();
    await Promise.all([producer, outage]);
    await waitUntil(
      async () => conversations.every((c) => slack.messages(c.channel).length >= perConversation),
      90_000,
      "every message in Slack",
    );
    await sleep(1500); // anything still in flight would show up as a duplicate now
    for (const [i, c] of conversations.entries()) {
      const texts = slack.messages(c.channel).map((m) => m.text);
      assert.deepEqual(
        texts,
        Array.from({ length: perConversation }, (_, n) => `c${i} #${n}`),
        `conversation ${i}: exactly once, in order`,
      );
    }
    const during = slack.calls().filter((c) => c.status === null || c.status >= 500);
    assert.ok(during.length > 20, `the outage did fail calls (${during.length})`);
  });
});

describe("Slack relay: a dead letter whose post may have landed", () => {
  let setup: SlackSetup;

  before(async () => {
    setup = await startSlackSetup({
      slack: { timeoutMs: 500 },
      overrides: { relay: { maxAttempts: 2, backoffBaseMs: 50, backoffMaxMs: 100 } },
    });
  });
  after(async () => {
    await setup?.close();
  });

  test("is looked up, not posted again, when redriven", async () => {
    const { slack, api } = setup;
    const { conversationId, channel } = await setup.boundConversation("landed");
    slack.setOutage("commit-then-timeout");
    await api.post(conversationId, { text: "landed but unanswered" });
    const adminToken = await setup.keys.token("sec", ["security-admin"]);
    const admin = () => setup.api.as(adminToken);
    await waitUntil(
      async () =>
        ((await admin().request<{ deadLetters: unknown[] }>("GET", "/v1/dlq")).body.deadLetters ?? [])
          .length === 1,
      15_000,
      "the dead letter",
    );
    assert.equal(slack.messages(channel).length, 1, "the post landed although no answer came");
    slack.setOutage(null);
    const redriven = await admin().request<{ redriven: unknown[] }>("POST", "/v1/dlq/redrive", { all: true });
    assert.equal(redriven.status, 200);
    assert.equal(redriven.body.redriven.length, 1);
    await waitUntil(
      async () =>
        (await setup.db.pool.query("SELECT 1 FROM external_ids WHERE connector = 'slack'")).rowCount === 1,
      15_000,
      "the redriven message to find its post",
    );
    assert.deepEqual(
      slack.messages(channel).map((m) => m.text),
      ["landed but unanswered"],
      "in Slack once",
    );
  });
});
