// Pure tests of the Slack Events API endpoint: signatures, event mapping, echo dropping.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { InboundEvent, InboundRequest, InboundResult } from "../types.ts";
import type { SlackSelf } from "./events.ts";
import { resultFromDelivery } from "./events.ts";
import { SlackInbound } from "./inbound.ts";
import { computeSlackSignature, verifySlackSignature } from "./signature.ts";

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW_S = 1_750_000_000;
const NOW_MS = NOW_S * 1000;
const BOT: SlackSelf = { userId: "UBOT0001", botId: "BBOT0001" };
const NO_SELF: SlackSelf = { userId: null, botId: null };

function signed(body: string, timestamp = NOW_S, secret = SECRET): InboundRequest {
  const ts = String(timestamp);
  return {
    headers: {
      "content-type": "application/json",
      "x-slack-request-timestamp": ts,
      "x-slack-signature": computeSlackSignature(secret, ts, body),
    },
    rawBody: Buffer.from(body, "utf8"),
  };
}

function inbound(self: SlackSelf = BOT, users: Record<string, string> = {}): SlackInbound {
  return new SlackInbound({
    signingSecret: SECRET,
    maxClockSkewSeconds: 300,
    users,
    now: () => NOW_MS,
    self: () => self,
  });
}

function envelope(event: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    token: "legacy-verification-token",
    team_id: "T0001",
    api_app_id: "A0APP001",
    event,
    type: "event_callback",
    event_id: "Ev0001",
    event_time: NOW_S,
    ...extra,
  });
}

function events(result: InboundResult): InboundEvent[] {
  assert.equal(result.kind, "events", JSON.stringify(result));
  return result.kind === "events" ? result.events : [];
}

function only(result: InboundResult): InboundEvent {
  const list = events(result);
  assert.equal(list.length, 1, JSON.stringify(list));
  return list[0] as InboundEvent;
}

/** A file object as Slack puts it in a message's `files` (https://docs.slack.dev/reference/objects/file-object). */
function slackFile(id: string, name: string, size: number): Record<string, unknown> {
  return {
    id,
    name,
    title: name,
    mimetype: "application/octet-stream",
    size,
    mode: "hosted",
    is_external: false,
    url_private: `https://files.slack.com/files-pri/T0001-${id}/${name}`,
    url_private_download: `https://files.slack.com/files-pri/T0001-${id}/download/${name}`,
  };
}

/** handle() has a last-resort catch; reaching it means some check threw, which is the bug to find. */
function assertNoCatchAll(result: InboundResult): void {
  assert.ok(result.kind !== "rejected" || result.reason !== "delivery could not be read", "a check threw");
}

describe("Slack signature verification", () => {
  const body = envelope({ type: "message", channel: "C1", user: "U1", text: "hi", ts: "1.000001" });

  test("matches Slack's documented example", () => {
    // https://docs.slack.dev/authentication/verifying-requests-from-slack (the worked example)
    const example =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    assert.equal(
      computeSlackSignature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", example),
      "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    );
  });

  test("accepts a good signature, within the skew either way", () => {
    assert.deepEqual(verifySlackSignature(SECRET, signed(body), NOW_MS, 300), { ok: true });
    assert.deepEqual(verifySlackSignature(SECRET, signed(body, NOW_S - 300), NOW_MS, 300), { ok: true });
    assert.deepEqual(verifySlackSignature(SECRET, signed(body, NOW_S + 300), NOW_MS, 300), { ok: true });
  });

  test("rejects a forged signature and a tampered body", () => {
    const forged = signed(body, NOW_S, "another-secret");
    const check = verifySlackSignature(SECRET, forged, NOW_MS, 300);
    assert.equal(check.ok, false);
    const tampered = { ...signed(body), rawBody: Buffer.from(body.replace('"hi"', '"ho"')) };
    assert.equal(verifySlackSignature(SECRET, tampered, NOW_MS, 300).ok, false);
    const swapped = signed(body);
    const moved = {
      ...swapped,
      headers: { ...swapped.headers, "x-slack-request-timestamp": String(NOW_S + 1) },
    };
    assert.equal(verifySlackSignature(SECRET, moved, NOW_MS, 300).ok, false);
  });

  test("rejects stale and future timestamps", () => {
    for (const at of [NOW_S - 301, NOW_S + 301, 0]) {
      const check = verifySlackSignature(SECRET, signed(body, at), NOW_MS, 300);
      assert.equal(check.ok, false, String(at));
      assert.match(check.ok ? "" : check.reason, /more than 300 s/);
    }
    assert.equal(verifySlackSignature(SECRET, signed(body), Number.NaN, 300).ok, false);
  });

  test("rejects missing, repeated and malformed headers, naming what failed and never the secret", () => {
    const good = signed(body);
    const sig = good.headers["x-slack-signature"] as string;
    const cases: [InboundRequest["headers"], RegExp][] = [
      [{ "x-slack-signature": sig }, /missing or repeated x-slack-request-timestamp/],
      [{ "x-slack-request-timestamp": String(NOW_S) }, /missing or repeated x-slack-signature/],
      [{ ...good.headers, "x-slack-signature": [sig, sig] }, /repeated x-slack-signature/],
      [{ ...good.headers, "x-slack-request-timestamp": ` ${NOW_S}` }, /malformed x-slack-request-timestamp/],
      [{ ...good.headers, "x-slack-signature": sig.slice(3) }, /malformed x-slack-signature/],
      [{ ...good.headers, "x-slack-signature": `v1=${sig.slice(3)}` }, /malformed x-slack-signature/],
      [{ ...good.headers, "x-slack-signature": `${sig}00` }, /malformed x-slack-signature/],
    ];
    for (const [headers, reason] of cases) {
      const check = verifySlackSignature(SECRET, { headers, rawBody: good.rawBody }, NOW_MS, 300);
      assert.equal(check.ok, false);
      const text = check.ok ? "" : check.reason;
      assert.match(text, reason);
      assert.ok(!text.includes(SECRET) && !text.includes(sig.slice(3)));
    }
  });

  test("header names match whatever their case", () => {
    const good = signed(body);
    const headers = {
      "X-Slack-Request-Timestamp": good.headers["x-slack-request-timestamp"],
      "X-Slack-Signature": good.headers["x-slack-signature"],
    };
    assert.deepEqual(verifySlackSignature(SECRET, { headers, rawBody: good.rawBody }, NOW_MS, 300), {
      ok: true,
    });
  });
});

describe("SlackInbound.handle", () => {
  test("answers url_verification with its challenge", () => {
    const body = JSON.stringify({
      token: "t",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
      type: "url_verification",
    });
    assert.deepEqual(inbound().handle(signed(body)), {
      kind: "reply",
      body: { challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" },
    });
  });

  test("rejects an unsigned url_verification and a signed non-JSON body", () => {
    const body = JSON.stringify({ challenge: "c", type: "url_verification" });
    assert.equal(inbound().handle({ headers: {}, rawBody: Buffer.from(body) }).kind, "rejected");
    assert.deepEqual(inbound().handle(signed("token=a&b=c")), {
      kind: "rejected",
      reason: "body is not JSON",
    });
    assert.equal(inbound().handle(signed("[1,2]")).kind, "rejected");
  });

  test("a plain message becomes kind message", () => {
    const event = {
      type: "message",
      channel: "C0001",
      user: "U0001",
      text: "hello",
      ts: "1750000000.000100",
    };
    assert.deepEqual(only(inbound().handle(signed(envelope(event)))), {
      eventId: "Ev0001",
      channel: "C0001",
      user: "U0001",
      kind: "message",
      text: "hello",
      externalId: "C0001:1750000000.000100",
      threadOf: null,
      target: null,
      files: [],
    });
  });

  test("a thread reply points at its parent; a parent's own thread_ts does not", () => {
    const reply = {
      type: "message",
      channel: "C1",
      user: "U1",
      text: "re",
      ts: "2.000002",
      thread_ts: "1.000001",
    };
    assert.equal(only(inbound().handle(signed(envelope(reply)))).threadOf, "C1:1.000001");
    const parent = {
      type: "message",
      channel: "C1",
      user: "U1",
      text: "p",
      ts: "1.000001",
      thread_ts: "1.000001",
    };
    assert.equal(only(inbound().handle(signed(envelope(parent)))).threadOf, null);
    const broadcast = { ...reply, subtype: "thread_broadcast" };
    const mapped = only(inbound().handle(signed(envelope(broadcast))));
    assert.equal(mapped.kind, "message");
    assert.equal(mapped.threadOf, "C1:1.000001");
  });

  test("file_share carries its files and its text; a message without files has none", () => {
    const event = {
      type: "message",
      subtype: "file_share",
      channel: "C1",
      user: "U1",
      text: "see attached",
      ts: "3.000003",
      thread_ts: "1.000001",
      files: [
        slackFile("F0001", "q3.xlsx", 2048),
        { ...slackFile("F0002", "notes.txt", 0), url_private_download: undefined },
      ],
    };
    assert.deepEqual(only(inbound().handle(signed(envelope(event)))), {
      eventId: "Ev0001",
      channel: "C1",
      user: "U1",
      kind: "message",
      text: "see attached",
      externalId: "C1:3.000003",
      threadOf: "C1:1.000001",
      target: null,
      files: [
        {
          id: "F0001",
          name: "q3.xlsx",
          size: 2048,
          url: "https://files.slack.com/files-pri/T0001-F0001/download/q3.xlsx",
        },
        // Without url_private_download, url_private serves the bytes.
        {
          id: "F0002",
          name: "notes.txt",
          size: 0,
          url: "https://files.slack.com/files-pri/T0001-F0002/notes.txt",
        },
      ],
    });
    const plain = { type: "message", channel: "C1", user: "U1", text: "hi", ts: "4.000004" };
    assert.deepEqual(only(inbound().handle(signed(envelope(plain)))).files, []);
    // A plain message may carry files too (no subtype): they come with it.
    const withFiles = { ...plain, files: [slackFile("F0003", "a.png", 10)] };
    assert.deepEqual(
      only(inbound().handle(signed(envelope(withFiles)))).files.map((file) => file.id),
      ["F0003"],
    );
  });

  test("files without bytes to fetch are left out; a share left with nothing gives no event", () => {
    const unreadable = [
      { ...slackFile("F0004", "gone.txt", 5), mode: "tombstone" },
      { ...slackFile("F0005", "old.txt", 5), mode: "hidden_by_limit" },
      { ...slackFile("F0006", "old2.txt", 5), hidden_by_limit: true },
      { ...slackFile("F0007", "doc", 5), mode: "external", is_external: true },
      { id: "F0008", mode: "file_access", file_access: "check_file_info", created: 0, user: "" },
      { ...slackFile("F0009", "x.txt", 5), url_private_download: "javascript:alert(1)", url_private: 7 },
      { ...slackFile("F0010", "x.txt", -1) },
      { ...slackFile("F0011", "x.txt", 1.5) },
      { ...slackFile("not a:id", "x.txt", 1) },
      "F0012",
      null,
    ];
    const base = { type: "message", subtype: "file_share", channel: "C1", user: "U1", ts: "5.000005" };
    const kept = { ...slackFile("F0013", "", 3) };
    const mixed = only(
      inbound().handle(signed(envelope({ ...base, text: "", files: [...unreadable, kept] }))),
    );
    // A file without a name is named by its id.
    assert.deepEqual(mixed.files, [
      { id: "F0013", name: "F0013", size: 3, url: "https://files.slack.com/files-pri/T0001-F0013/download/" },
    ]);
    const withText = only(
      inbound().handle(signed(envelope({ ...base, text: "still here", files: unreadable }))),
    );
    assert.equal(withText.text, "still here");
    assert.deepEqual(withText.files, []);
    assert.deepEqual(
      events(inbound().handle(signed(envelope({ ...base, text: "", files: unreadable })))),
      [],
    );
  });

  test("file_shared gives no event: the message event of the share carries the file", () => {
    const event = {
      type: "file_shared",
      channel_id: "C1",
      file_id: "F0001",
      user_id: "U1",
      file: { id: "F0001" },
      event_ts: "3.000003",
    };
    assert.deepEqual(inbound().handle(signed(envelope(event))), { kind: "events", events: [] });
  });

  test("message_changed becomes an edit of the changed message", () => {
    const event = {
      type: "message",
      subtype: "message_changed",
      hidden: true,
      channel: "C1",
      ts: "9.000009",
      message: {
        type: "message",
        user: "U1",
        text: "new",
        ts: "1.000001",
        edited: { user: "U1", ts: "9.0" },
      },
      previous_message: { type: "message", user: "U1", text: "old", ts: "1.000001" },
    };
    assert.deepEqual(only(inbound().handle(signed(envelope(event)))), {
      eventId: "Ev0001",
      channel: "C1",
      user: "U1",
      kind: "edit",
      text: "new",
      externalId: null,
      threadOf: null,
      target: "C1:1.000001",
      files: [],
    });
  });

  test("message_changed with the text unchanged (an unfurl) gives nothing", () => {
    const event = {
      type: "message",
      subtype: "message_changed",
      channel: "C1",
      ts: "9.000009",
      message: {
        type: "message",
        user: "U1",
        text: "<https://x.example>",
        ts: "1.000001",
        attachments: [{}],
      },
      previous_message: { type: "message", user: "U1", text: "<https://x.example>", ts: "1.000001" },
    };
    assert.deepEqual(events(inbound().handle(signed(envelope(event)))), []);
  });

  test("message_deleted becomes a delete of the deleted message", () => {
    const event = {
      type: "message",
      subtype: "message_deleted",
      hidden: true,
      channel: "C1",
      ts: "9.000009",
      deleted_ts: "1.000001",
      previous_message: { type: "message", user: "U1", text: "old", ts: "1.000001" },
    };
    assert.deepEqual(only(inbound().handle(signed(envelope(event)))), {
      eventId: "Ev0001",
      channel: "C1",
      user: "U1",
      kind: "delete",
      text: "",
      externalId: null,
      threadOf: null,
      target: "C1:1.000001",
      files: [],
    });
  });

  test("reaction_added on a message becomes a reaction; on a file, nothing", () => {
    const event = {
      type: "reaction_added",
      user: "U2",
      reaction: "thumbsup",
      item_user: "U1",
      item: { type: "message", channel: "C1", ts: "1.000001" },
      event_ts: "9.000009",
    };
    assert.deepEqual(only(inbound().handle(signed(envelope(event)))), {
      eventId: "Ev0001",
      channel: "C1",
      user: "U2",
      kind: "reaction",
      text: "thumbsup",
      externalId: null,
      threadOf: null,
      target: "C1:1.000001",
      files: [],
    });
    const onFile = { ...event, item: { type: "file", file: "F1" } };
    assert.deepEqual(events(inbound().handle(signed(envelope(onFile)))), []);
  });

  test("drops echoes of our own bot", () => {
    const ours = [
      { type: "message", channel: "C1", user: "UBOT0001", text: "x", ts: "1.000001" },
      { type: "message", channel: "C1", user: "UX", bot_id: "BBOT0001", text: "x", ts: "1.000001" },
      { type: "message", subtype: "bot_message", channel: "C1", bot_id: "BOTHER", text: "x", ts: "1.000001" },
      { type: "message", channel: "C1", user: "UX", app_id: "A0APP001", text: "x", ts: "1.000001" },
      {
        type: "message",
        subtype: "message_changed",
        channel: "C1",
        message: { user: "UBOT0001", bot_id: "BBOT0001", text: "new", ts: "1.000001" },
        previous_message: { user: "UBOT0001", bot_id: "BBOT0001", text: "old", ts: "1.000001" },
      },
      {
        type: "message",
        subtype: "message_changed",
        channel: "C1",
        message: { user: "UX", text: "new", ts: "1.000001" },
        previous_message: { user: "UX", bot_id: "BBOT0001", text: "old", ts: "1.000001" },
      },
      {
        type: "message",
        subtype: "message_deleted",
        channel: "C1",
        deleted_ts: "1.000001",
        previous_message: { user: "UBOT0001", text: "old", ts: "1.000001" },
      },
      {
        type: "message",
        subtype: "message_deleted",
        channel: "C1",
        deleted_ts: "1.000001",
        previous_message: { user: "UX", bot_id: "BBOT0001", text: "old", ts: "1.000001" },
      },
      {
        type: "reaction_added",
        user: "UBOT0001",
        reaction: "eyes",
        item: { type: "message", channel: "C1", ts: "1.1" },
      },
    ];
    for (const event of ours) {
      assert.deepEqual(events(inbound().handle(signed(envelope(event)))), [], JSON.stringify(event));
    }
  });

  test("knows our bot user from the envelope's authorizations before auth.test ran", () => {
    const event = { type: "message", channel: "C1", user: "UBOT0001", text: "x", ts: "1.000001" };
    const body = envelope(event, {
      api_app_id: "AOTHER",
      authorizations: [{ team_id: "T0001", user_id: "UBOT0001", is_bot: true }],
    });
    assert.deepEqual(events(inbound(NO_SELF).handle(signed(body))), []);
    // Without that, a human's message from the same id would pass: the check is what drops it.
    const plain = envelope(event, { api_app_id: "AOTHER" });
    assert.equal(events(inbound(NO_SELF).handle(signed(plain))).length, 1);
  });

  test("unknown envelopes, events and subtypes are verified but give no events", () => {
    const bodies = [
      JSON.stringify({ type: "app_rate_limited", minute_rate_limited: 1 }),
      envelope({ type: "channel_created", channel: { id: "C2" } }),
      envelope({ type: "message", subtype: "channel_join", channel: "C1", user: "U1", ts: "1.1" }),
      envelope({ type: "message", channel: "C1", text: "no user", ts: "1.1" }),
      envelope({ type: "message", channel: "C1", user: "U1", text: "bad ts", ts: "soon" }),
      envelope({ type: "message", channel: "C1", user: "U1", ts: "1.1" }, { event_id: 7 }),
      envelope({ type: "reaction_added", user: "U1", item: { type: "message", channel: "C1", ts: "1.1" } }),
    ];
    for (const body of bodies) assert.deepEqual(events(inbound().handle(signed(body))), [], body);
  });

  test("identityOf maps configured users only", () => {
    const endpoint = inbound(BOT, { U0001: "alice" });
    assert.equal(endpoint.identityOf("U0001"), "alice");
    assert.equal(endpoint.identityOf("U0002"), null);
    assert.equal(endpoint.identityOf("constructor"), null);
    assert.equal(endpoint.identityOf("__proto__"), null);
  });

  test("resultFromDelivery rejects non-objects", () => {
    for (const body of [null, 1, "x", []]) assert.equal(resultFromDelivery(body, BOT).kind, "rejected");
  });

  test("property: handle never throws on random headers and bodies", () => {
    const headerValue = fc.oneof(
      fc.string(),
      fc.array(fc.string(), { maxLength: 3 }),
      fc.constant(undefined),
      fc.constant(String(NOW_S)),
    );
    const headers = fc.dictionary(
      fc.oneof(
        fc.constantFrom("x-slack-signature", "x-slack-request-timestamp", "X-Slack-Signature"),
        fc.string(),
      ),
      headerValue,
    );
    const endpoint = inbound();
    fc.assert(
      fc.property(headers, fc.uint8Array({ maxLength: 512 }), (h, bytes) => {
        const result = endpoint.handle({ headers: h, rawBody: Buffer.from(bytes) });
        assert.ok(["rejected", "reply", "events"].includes(result.kind));
        assertNoCatchAll(result);
      }),
      { numRuns: 500 },
    );
  });

  test("property: any signed JSON gives a result, never a throw, and only well-formed events", () => {
    const endpoint = inbound(NO_SELF);
    const eventish = fc.record(
      {
        type: fc.constantFrom("message", "reaction_added", "x"),
        subtype: fc.constantFrom(
          undefined,
          "message_changed",
          "message_deleted",
          "thread_broadcast",
          "bot_message",
          "file_share",
        ),
        channel: fc.oneof(fc.constant("C1"), fc.anything()),
        user: fc.oneof(fc.constant("U1"), fc.anything()),
        ts: fc.oneof(fc.constant("1.000001"), fc.anything()),
        text: fc.anything(),
        message: fc.anything(),
        previous_message: fc.anything(),
        item: fc.anything(),
        reaction: fc.anything(),
        deleted_ts: fc.anything(),
        files: fc.oneof(
          fc.anything(),
          fc.array(fc.oneof(fc.constant(slackFile("F1", "a", 1)), fc.dictionary(fc.string(), fc.anything()))),
        ),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ type: fc.constant("event_callback"), event_id: fc.constant("Ev1"), event: eventish }),
      fc.record({ type: fc.constant("url_verification"), challenge: fc.anything() }),
    );
    fc.assert(
      fc.property(body, (value) => {
        let json: string;
        try {
          json = JSON.stringify(value) ?? "null";
        } catch {
          return; // fc.anything() can build values JSON cannot hold (BigInt)
        }
        const result = endpoint.handle(signed(json));
        assertNoCatchAll(result);
        if (result.kind !== "events") return;
        for (const event of result.events) {
          assert.equal(typeof event.user, "string");
          assert.equal(typeof event.text, "string");
          assert.equal(event.eventId, "Ev1");
          assert.ok(Array.isArray(event.files));
          for (const file of event.files) {
            assert.ok(Number.isSafeInteger(file.size) && file.size >= 0);
            assert.match(file.url, /^https?:/);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});
