// The Slack connector end to end, on real NATS and PostgreSQL with the fake Slack: messages,
// thread replies, edits, deletes and reactions in both directions; Slack's retried and forged
// event deliveries; and an inbound card number that turns the conversation sensitive and, under a
// `retract` policy, is deleted from Slack and replaced by a notice.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitUntil } from "../helpers/api.ts";
import { retractPolicyFile } from "../helpers/policies.ts";
import { startSlackSetup, type SlackSetup } from "../helpers/slack-broker.ts";

interface HistoryMessage {
  id: string;
  kind: string;
  text: string;
  sender: { id: string };
  replyTo: string | null;
  targetId: string | null;
  routing: { zone: string } | null;
}

describe("Slack connector end to end", () => {
  let setup: SlackSetup;

  before(async () => {
    setup = await startSlackSetup({ overrides: { policy: { file: await retractPolicyFile() } } });
  });
  after(async () => {
    await setup?.close();
  });

  async function history(conversationId: string): Promise<HistoryMessage[]> {
    const response = await setup.api.request<{ messages: HistoryMessage[] }>(
      "GET",
      `/v1/conversations/${conversationId}/messages?limit=200`,
    );
    assert.equal(response.status, 200);
    return response.body.messages;
  }

  test("bindings: channel ids only, configured connectors only, one conversation per channel", async () => {
    const { api } = setup;
    const { channel } = await setup.boundConversation("taken");
    const other = await api.createConversation({ title: "other" });
    const put = (bindings: unknown) =>
      api.request("PUT", `/v1/conversations/${other}/bindings`, { bindings });
    const cases: Array<[unknown, number, string]> = [
      [[{ connector: "slack", channel: "#general" }], 400, "invalid-body"],
      [[{ connector: "teams", channel: "C0123ABCD" }], 422, "unknown-connector"],
      [[{ connector: "slack", channel }], 409, "channel-already-bound"],
    ];
    for (const [bindings, status, type] of cases) {
      const response = await put(bindings);
      assert.equal(response.status, status, JSON.stringify(bindings));
      assert.equal(response.body.type, `urn:watershed:problem:${type}`);
    }
    const conversation = await api.request<{ bindings: unknown[] }>("GET", `/v1/conversations/${other}`);
    assert.deepEqual(conversation.body.bindings, [], "nothing changed");
  });

  test("on-prem messages, replies, edits, reactions and deletes reach Slack", async () => {
    const { slack, api } = setup;
    const { conversationId, channel } = await setup.boundConversation("outbound");
    const first = await api.post(conversationId, { text: "hello from on-prem" });
    await waitUntil(async () => slack.messages(channel).length === 1, 10_000, "the post in Slack");
    const posted = slack.messages(channel)[0];
    assert.ok(posted?.bot_id, "posted by the app");
    assert.equal(posted.text, "hello from on-prem");

    // A message can be named by a reply or an edit once it is stored (409 before).
    await waitUntil(async () => (await history(conversationId)).length === 1, 10_000, "the first stored");
    const reply = await api.post(conversationId, { text: "a reply", replyTo: first });
    await api.post(conversationId, { kind: "edit", targetId: first, text: "hello, edited" });
    await api.post(conversationId, { kind: "reaction", targetId: first, text: "thumbsup" });
    await waitUntil(
      async () => {
        const root = slack.messages(channel).find((m) => m.ts === posted.ts);
        return root?.edited === true && root.reactions.length === 1 && slack.messages(channel).length === 2;
      },
      10_000,
      "the reply, the edit and the reaction in Slack",
    );
    const [root, threaded] = slack.messages(channel);
    assert.equal(root?.text, "hello, edited");
    assert.deepEqual(
      root?.reactions.map((r) => r.name),
      ["thumbsup"],
    );
    assert.equal(threaded?.text, "a reply");
    assert.equal(threaded?.thread_ts, posted.ts, "the reply is in the root's thread");

    await waitUntil(async () => (await history(conversationId)).length === 4, 10_000, "the reply stored");
    await api.post(conversationId, { kind: "delete", targetId: reply, text: "" });
    await waitUntil(async () => slack.deleted(channel).includes(threaded?.ts ?? ""), 10_000, "the delete");
    assert.deepEqual(
      slack.messages(channel).map((m) => m.text),
      ["hello, edited"],
    );
    // Slack echoes the app's own posts as events: none of them came back as an on-prem message.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await history(conversationId)).length, 5);
  });

  test("Slack messages, thread replies, edits, reactions and deletes arrive on-prem", async () => {
    const { slack, aliceSlack, strangerSlack } = setup;
    const { conversationId, channel } = await setup.boundConversation("inbound");
    const root = await slack.postAsUser(aliceSlack, channel, "hello from Slack");
    assert.equal(root.status, 200);
    const reply = await slack.postAsUser(strangerSlack, channel, "a reply in Slack", { threadTs: root.ts });
    assert.equal(
      (await slack.editAsUser(aliceSlack, channel, root.ts, "hello from Slack, edited")).status,
      200,
    );
    assert.equal((await slack.reactAsUser(strangerSlack, channel, root.ts, "tada")).status, 200);
    assert.equal((await slack.deleteAsUser(strangerSlack, channel, reply.ts)).status, 200);

    await waitUntil(async () => (await history(conversationId)).length === 5, 10_000, "five events on-prem");
    const [message, threaded, edit, reaction, removal] = await history(conversationId);
    assert.equal(message?.kind, "message");
    assert.equal(message.text, "hello from Slack");
    assert.equal(message.sender.id, "alice", "a mapped Slack user is their on-prem identity");
    assert.equal(threaded?.replyTo, message.id);
    assert.equal(threaded.sender.id, `slack:${strangerSlack}`, "an unmapped one keeps the Slack id");
    assert.deepEqual(
      [edit?.kind, edit?.targetId, edit?.text],
      ["edit", message.id, "hello from Slack, edited"],
    );
    assert.deepEqual([reaction?.kind, reaction?.targetId, reaction?.text], ["reaction", message.id, "tada"]);
    assert.deepEqual([removal?.kind, removal?.targetId], ["delete", threaded.id]);

    // What came from Slack is not relayed back to it.
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.equal(
      slack.messages(channel).filter((m) => m.bot_id !== null).length,
      0,
      "no bot copies of Slack's own messages",
    );
    assert.equal(
      slack.calls().filter((c) => c.channel === channel && c.method !== "auth.test").length,
      0,
      "no Web API call for this channel at all",
    );
  });

  test("an edit that arrives before its message is refused with 409 until the message is in", async () => {
    const { slack, aliceSlack } = setup;
    const { conversationId, channel } = await setup.boundConversation("early-edit");
    const url = `${setup.broker.url}/v1/connectors/slack/events`;
    slack.setEventsUrl(null);
    const post = await slack.postAsUser(aliceSlack, channel, "typo hre\u0000");
    const edit = await slack.editAsUser(aliceSlack, channel, post.ts, "typo here");
    slack.setEventsUrl(url);
    assert.equal((await slack.deliver(edit.eventId)).status, 409, "Slack will deliver it again");
    assert.equal((await slack.deliver(post.eventId)).status, 200);
    assert.equal((await slack.deliver(edit.eventId, { retryNum: 1, retryReason: "http_error" })).status, 200);
    await waitUntil(async () => (await history(conversationId)).length === 2, 10_000, "message and edit");
    const [message, fix] = await history(conversationId);
    assert.equal(message?.text, "typo hre", "a NUL from Slack is dropped, the rest kept");
    assert.deepEqual([fix?.kind, fix?.targetId, fix?.text], ["edit", message.id, "typo here"]);
  });

  test("a post that landed unanswered before the conversation turned is found and retracted", async () => {
    const { slack, api } = setup;
    const { conversationId, channel } = await setup.boundConversation("landed-then-turned");
    slack.setOutage("commit-then-timeout");
    try {
      await api.post(conversationId, { text: "landed, but Slack never answered" });
      await waitUntil(async () => slack.messages(channel).length === 1, 10_000, "the post in Slack");
      await api.post(conversationId, { text: "card 4111 1111 1111 1111" });
      await waitUntil(
        async () => api.isSensitive(conversationId),
        10_000,
        "the conversation to turn sensitive",
      );
    } finally {
      slack.setOutage(null);
    }
    await waitUntil(
      async () => slack.messages(channel).some((m) => /continues on the secure on-prem channel/.test(m.text)),
      15_000,
      "the notice",
    );
    assert.equal(slack.deleted(channel).length, 1, "the landed post was retracted");
    assert.equal(slack.messages(channel).length, 1, "only the notice is left");
  });

  test("a retraction reaches what was relayed even after the channel was unbound", async () => {
    const { slack, api } = setup;
    const { conversationId, channel } = await setup.boundConversation("unbound-retract");
    await api.post(conversationId, { text: "relayed while bound" });
    await waitUntil(async () => slack.messages(channel).length === 1, 10_000, "the relayed message");
    const unbound = await api.request("PUT", `/v1/conversations/${conversationId}/bindings`, {
      bindings: [],
    });
    assert.equal(unbound.status, 200);
    await api.post(conversationId, { text: "card 4111 1111 1111 1111" });
    await waitUntil(async () => slack.deleted(channel).length === 1, 10_000, "the retraction");
    assert.deepEqual(slack.messages(channel), [], "gone, and no notice in a channel no longer bound");
  });

  test("Slack's retries of one event make one message; forged, tampered and stale deliveries get 401", async () => {
    const { slack, aliceSlack } = setup;
    const { conversationId, channel } = await setup.boundConversation("retries");
    const first = await slack.postAsUser(aliceSlack, channel, "delivered four times");
    for (const retryNum of [1, 2, 3]) {
      const again = await slack.deliver(first.eventId, { retryNum, retryReason: "http_timeout" });
      assert.equal(again.status, 200, `retry ${retryNum} is answered 2xx`);
    }
    await waitUntil(async () => (await history(conversationId)).length === 1, 10_000, "the message");

    // An event never delivered, then sent by an attacker in three wrong ways.
    const url = `${setup.broker.url}/v1/connectors/slack/events`;
    slack.setEventsUrl(null);
    const held = await slack.postAsUser(aliceSlack, channel, "held back");
    slack.setEventsUrl(url);
    const forged = await slack.deliver(held.eventId, { signature: `v0=${"0".repeat(64)}` });
    const tampered = await slack.deliver(held.eventId, {
      tamper: (body) => body.replace("held back", "tampered!"),
    });
    const stale = await slack.deliver(held.eventId, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    assert.deepEqual([forged.status, tampered.status, stale.status], [401, 401, 401]);
    assert.match(JSON.parse(tampered.body).type as string, /invalid-signature$/);
    await new Promise((resolve) => setTimeout(resolve, 800));
    assert.deepEqual(
      (await history(conversationId)).map((m) => m.text),
      ["delivered four times"],
      "nothing stored from a refused delivery",
    );
    // The same event, signed as Slack would: accepted, so the refusals were about the signature.
    assert.equal((await slack.deliver(held.eventId)).status, 200);
    await waitUntil(async () => (await history(conversationId)).length === 2, 10_000, "the genuine delivery");

    const challenge = await slack.urlVerification();
    assert.equal(challenge.status, 200);
    assert.equal(JSON.parse(challenge.body).challenge, challenge.challenge);
  });

  test("a card number posted in Slack turns the conversation sensitive and is retracted", async () => {
    const { slack, api, aliceSlack, strangerSlack } = setup;
    const { conversationId, channel } = await setup.boundConversation("retract");
    await api.post(conversationId, { text: "an ordinary on-prem message" });
    await waitUntil(async () => slack.messages(channel).length === 1, 10_000, "the relayed message");
    const relayedTs = slack.messages(channel)[0]?.ts;

    const card = await slack.postAsUser(strangerSlack, channel, "my card is 4111 1111 1111 1111, thanks");
    await waitUntil(
      async () => api.isSensitive(conversationId),
      10_000,
      "the conversation to turn sensitive",
    );
    await waitUntil(
      async () =>
        slack
          .messages(channel)
          .some((m) => m.bot_id !== null && /continues on the secure on-prem channel/.test(m.text)),
      10_000,
      "the notice",
    );
    assert.ok(slack.deleted(channel).includes(card.ts), "the card number is gone from Slack");
    assert.ok(slack.deleted(channel).includes(relayedTs ?? ""), "so is what was relayed before");
    const left = slack.messages(channel);
    assert.equal(left.length, 1, "only the notice is left");

    // The message itself is on-prem, decided sensitive.
    const stored = (await history(conversationId)).find((m) => m.text.includes("4111"));
    assert.equal(stored?.routing?.zone, "onprem");

    // Later on-prem messages and Slack-side activity never reach Slack.
    await api.post(conversationId, { text: "after the turn" });
    await slack.postAsUser(aliceSlack, channel, "still chatting in Slack");
    await waitUntil(async () => (await history(conversationId)).length === 4, 10_000, "both stored on-prem");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.ok(!slack.messages(channel).some((m) => m.text === "after the turn"));
    assert.equal(slack.messages(channel).filter((m) => m.bot_id !== null).length, 1, "one notice, once");
    assert.deepEqual(
      (await history(conversationId)).filter((m) => m.kind !== "message"),
      [],
      "Slack's delete events for our own retractions are not taken for users' deletes",
    );
  });
});
