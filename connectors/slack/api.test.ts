// Pure tests of the Slack Web API call: error mapping, ids and config, with a stand-in fetch.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConnectorPermanentError, ConnectorRateLimitedError, ConnectorTransientError } from "../errors.ts";
import { SlackBodyEncoding, callSlack, retryAfterMsFrom } from "./api.ts";
import type { SlackApiOptions } from "./api.ts";
import { SlackConfig } from "./config.ts";
import { reactionName } from "./connector.ts";
import { SlackPermanentError, classifySlackError } from "./errors.ts";
import { decodeExternalId, encodeExternalId, encodeFileExternalId, slackTsFromMs } from "./ids.ts";

const TOKEN = "xoxb-1111-2222-secretbottoken";

type Answer = { status?: number; body?: unknown; headers?: Record<string, string> };

function answering(answer: Answer, seen: Request[] = []): SlackApiOptions {
  return {
    baseUrl: "https://slack.test/api/",
    timeoutMs: 1000,
    fetch: async (input, init) => {
      seen.push(new Request(input, init));
      const body =
        typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body ?? { ok: true });
      return new Response(body, { status: answer.status ?? 200, headers: answer.headers ?? {} });
    },
  };
}

async function failure(answer: Answer): Promise<Error> {
  try {
    await callSlack(answering(answer), TOKEN, "chat.postMessage", { channel: "C1", text: "do-not-leak" });
  } catch (err) {
    assert.ok(err instanceof Error);
    assert.ok(!err.message.includes(TOKEN) && !err.message.includes("do-not-leak"), err.message);
    return err;
  }
  return assert.fail("the call succeeded");
}

describe("callSlack", () => {
  test("POSTs JSON to base + method with the token as a bearer, and returns the answer", async () => {
    const seen: Request[] = [];
    const answer = await callSlack(
      answering({ body: { ok: true, ts: "1.000001" } }, seen),
      TOKEN,
      "chat.postMessage",
      { channel: "C1", text: "hi" },
    );
    assert.deepEqual(answer, { ok: true, ts: "1.000001" });
    const [request] = seen;
    assert.ok(request);
    assert.equal(request.method, "POST");
    assert.equal(request.url, "https://slack.test/api/chat.postMessage");
    assert.equal(request.headers.get("authorization"), `Bearer ${TOKEN}`);
    assert.match(request.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await request.json(), { channel: "C1", text: "hi" });
  });

  test("form encoding sends scalars as text and anything structured as JSON", async () => {
    const seen: Request[] = [];
    await callSlack(
      answering({}, seen),
      TOKEN,
      "files.getUploadURLExternal",
      { filename: "a b&c.txt", length: 12, files: [{ id: "F1" }], absent: undefined },
      undefined,
      SlackBodyEncoding.form,
    );
    const [request] = seen;
    assert.ok(request);
    assert.equal(request.headers.get("content-type"), "application/x-www-form-urlencoded");
    assert.equal(request.headers.get("authorization"), `Bearer ${TOKEN}`);
    const form = new URLSearchParams(await request.text());
    assert.deepEqual(Object.fromEntries(form), {
      filename: "a b&c.txt",
      length: "12",
      files: '[{"id":"F1"}]',
    });
  });

  test("maps HTTP statuses and Slack error codes (the table)", async () => {
    const table: [Answer, new (...args: never[]) => Error, string | null, boolean][] = [
      [{ status: 500, body: "oops" }, ConnectorTransientError, null, false],
      [
        { status: 503, body: { ok: false, error: "service_unavailable" } },
        ConnectorTransientError,
        null,
        false,
      ],
      [{ status: 408, body: "" }, ConnectorTransientError, null, false],
      [{ body: { ok: false, error: "internal_error" } }, ConnectorTransientError, null, false],
      [{ body: { ok: false, error: "fatal_error" } }, ConnectorTransientError, null, false],
      [{ body: { ok: false, error: "service_unavailable" } }, ConnectorTransientError, null, false],
      [{ body: { ok: false, error: "request_timeout" } }, ConnectorTransientError, null, false],
      [{ body: "<html>proxy</html>" }, ConnectorTransientError, null, false],
      [
        { status: 429, headers: { "retry-after": "7" }, body: { ok: false, error: "ratelimited" } },
        ConnectorRateLimitedError,
        null,
        false,
      ],
      [{ body: { ok: false, error: "ratelimited" } }, ConnectorRateLimitedError, null, false],
      ...(
        [
          "invalid_auth",
          "token_revoked",
          "not_authed",
          "account_inactive",
          "token_expired",
          "missing_scope",
          "no_permission",
          "ekm_access_denied",
        ] as const
      ).map((code): [Answer, typeof SlackPermanentError, string, boolean] => [
        { body: { ok: false, error: code } },
        SlackPermanentError,
        code,
        true,
      ]),
      ...(
        [
          "channel_not_found",
          "is_archived",
          "not_in_channel",
          "msg_too_long",
          "no_text",
          "invalid_blocks",
          "message_not_found",
          "cant_delete_message",
          "already_reacted",
          "invalid_arguments",
          "file_not_found",
          "file_upload_size_restricted",
          "file_uploads_disabled",
          "some_future_error",
        ] as const
      ).map((code): [Answer, typeof SlackPermanentError, string, boolean] => [
        { body: { ok: false, error: code } },
        SlackPermanentError,
        code,
        false,
      ]),
      [{ status: 404, body: "not found" }, SlackPermanentError, null, false],
      [{ status: 401, body: "nope" }, SlackPermanentError, null, true],
      [
        { status: 302, headers: { location: "https://elsewhere.example/" }, body: "" },
        SlackPermanentError,
        null,
        false,
      ],
      [{ body: { ok: false, error: "Token xoxb-1111 is bad" } }, SlackPermanentError, null, false],
    ];
    for (const [answer, errorClass, code, rejectsCredentials] of table) {
      const err = await failure(answer);
      const label = `${JSON.stringify(answer)} → ${err.name}: ${err.message}`;
      assert.ok(err instanceof errorClass, label);
      if (err instanceof SlackPermanentError) {
        assert.ok(err instanceof ConnectorPermanentError, label);
        assert.equal(err.slackError, code, label);
        assert.equal(err.rejectsCredentials, rejectsCredentials, label);
        if (code !== null) assert.match(err.message, new RegExp(code), label);
      } else {
        assert.ok(!(err instanceof ConnectorPermanentError), label);
      }
    }
  });

  test("a 429 carries Retry-After in milliseconds, one second when absent", async () => {
    const limited = await failure({ status: 429, headers: { "retry-after": "30" } });
    assert.ok(limited instanceof ConnectorRateLimitedError);
    assert.equal(limited.retryAfterMs, 30_000);
    assert.equal(limited.status, 429);
    const bare = await failure({ status: 429 });
    assert.ok(bare instanceof ConnectorRateLimitedError);
    assert.equal(bare.retryAfterMs, 1000);
    assert.equal(retryAfterMsFrom("1.5"), 1000);
    assert.equal(retryAfterMsFrom("Wed, 21 Oct 2015 07:28:00 GMT"), 1000);
    assert.equal(retryAfterMsFrom(" 2 "), 2000);
  });

  test("a network error and a timeout are transient", async () => {
    const refused: SlackApiOptions = {
      baseUrl: "https://slack.test/api/",
      timeoutMs: 1000,
      fetch: async () => {
        throw new TypeError("fetch failed");
      },
    };
    await assert.rejects(callSlack(refused, TOKEN, "auth.test", {}), (err: Error) => {
      assert.ok(err instanceof ConnectorTransientError);
      assert.match(err.message, /network error/);
      return true;
    });
    const hanging: SlackApiOptions = {
      baseUrl: "https://slack.test/api/",
      timeoutMs: 30,
      // Like fetch: rejects at once on an aborted signal, else when it aborts.
      fetch: (_input, init) =>
        new Promise((_resolve, reject) => {
          if (init?.signal?.aborted === true) reject(init.signal.reason);
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        }),
    };
    await assert.rejects(callSlack(hanging, TOKEN, "auth.test", {}), (err: Error) => {
      assert.ok(err instanceof ConnectorTransientError && !(err instanceof ConnectorRateLimitedError));
      assert.match(err.message, /timed out after 30 ms/);
      return true;
    });
    const caller = new AbortController();
    caller.abort();
    await assert.rejects(callSlack(hanging, TOKEN, "auth.test", {}, caller.signal), /aborted by the caller/);
  });

  test("classifySlackError does not read the prototype", () => {
    assert.equal(classifySlackError("constructor"), "permanent");
    assert.equal(classifySlackError("toString"), "permanent");
    assert.equal(classifySlackError("token_revoked"), "credentials");
  });
});

describe("Slack external ids", () => {
  test("round-trip channel and ts", () => {
    const id = encodeExternalId("C0123ABCD", "1750000000.000100");
    assert.equal(id, "C0123ABCD:1750000000.000100");
    assert.deepEqual(decodeExternalId(id), { channel: "C0123ABCD", ts: "1750000000.000100" });
  });

  test("refuse what is not one of ours", () => {
    for (const id of [
      "",
      "C1",
      ":1.1",
      "C1:",
      "C1:abc",
      "C1:1",
      "C 1:1.1",
      "wh_0190",
      "C1:1.1:2.2",
      "C1:1.1 ",
    ]) {
      assert.equal(decodeExternalId(id), null, id);
    }
  });

  test("a file's stand-in id decodes as no message", () => {
    const id = encodeFileExternalId("F0123ABCD");
    assert.equal(id, "file:F0123ABCD");
    assert.equal(decodeExternalId(id), null);
  });

  test("slackTsFromMs gives Slack's seconds.micros form", () => {
    assert.equal(slackTsFromMs(1_750_000_000_123), "1750000000.123000");
    assert.equal(slackTsFromMs(-5), "0.000000");
  });
});

describe("Slack config", () => {
  const minimal = { botToken: "xoxb-1-2-abc", signingSecret: "s3cret" };

  test("fills the documented defaults", () => {
    assert.deepEqual(SlackConfig.parse(minimal), {
      ...minimal,
      apiBaseUrl: "https://slack.com/api/",
      timeoutMs: 10_000,
      perChannelPerSecond: 1,
      perChannelBurst: 3,
      overallPerSecond: 20,
      users: {},
      maxClockSkewSeconds: 300,
    });
  });

  test("every leaf is described", () => {
    for (const [key, schema] of Object.entries(SlackConfig.shape)) {
      assert.ok((schema.description ?? "").length > 10, key);
    }
  });

  test("takes the users map as an object or as JSON text (from the environment)", () => {
    assert.deepEqual(SlackConfig.parse({ ...minimal, users: { U0001: "alice" } }).users, { U0001: "alice" });
    assert.deepEqual(SlackConfig.parse({ ...minimal, users: '{"U0001":"alice"}' }).users, { U0001: "alice" });
    assert.equal(SlackConfig.safeParse({ ...minimal, users: "U0001=alice" }).success, false);
    assert.equal(SlackConfig.safeParse({ ...minimal, users: { alice: "U0001" } }).success, false);
  });

  test("refuses wrong tokens and bad values without echoing the secrets", () => {
    const bad = [
      { ...minimal, botToken: "xoxp-user-token-here" },
      { ...minimal, adminToken: "xoxb-1-2-bot-not-admin" },
      { ...minimal, signingSecret: "" },
      { ...minimal, apiBaseUrl: "ftp://slack.com/api/" },
      { ...minimal, timeoutMs: 0 },
      { ...minimal, perChannelBurst: 1.5 },
      { ...minimal, unknown: 1 },
    ];
    for (const config of bad) {
      const result = SlackConfig.safeParse(config);
      assert.equal(result.success, false, JSON.stringify(config));
      const message = String(result.error?.message);
      assert.ok(!message.includes("xoxp-user-token-here") && !message.includes("xoxb-1-2-bot-not-admin"));
    }
  });
});

describe("reaction names", () => {
  test("strip surrounding colons and spaces only", () => {
    assert.equal(reactionName("thumbsup"), "thumbsup");
    assert.equal(reactionName(" :thumbsup: "), "thumbsup");
    assert.equal(reactionName(":+1::skin-tone-2:"), "+1::skin-tone-2");
    assert.equal(reactionName("::"), null);
    assert.equal(reactionName(""), null);
  });
});
