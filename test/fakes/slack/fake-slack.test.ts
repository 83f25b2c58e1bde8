// Proves the fake speaks Slack: the official WebClient works against it, and its Events API
// deliveries carry signatures a receiver can check with nothing but the signing secret.
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { ErrorCode, LogLevel, WebClient } from "@slack/web-api";
import type { WebClientOptions } from "@slack/web-api";
import { OutageMode, startFakeSlack } from "./index.ts";
import type { EventEnvelope, FakeSlack, FakeSlackOptions } from "./index.ts";

/** Buckets large enough that functional tests never meet a 429. */
const NO_LIMITS = { perChannelPerSecond: 1000, perChannelBurst: 1000 } satisfies FakeSlackOptions;
const TS_FORMAT = /^\d{10}\.\d{6}$/;

async function fakeFor(t: { after: (fn: () => Promise<void>) => void }, options?: FakeSlackOptions) {
  const fake = await startFakeSlack(options);
  t.after(() => fake.close());
  return fake;
}

/** WebClient as a connector would build it, minus its own retries so failures surface at once. */
function clientFor(fake: FakeSlack, token: string | null = fake.botToken, options: WebClientOptions = {}) {
  return new WebClient(token ?? undefined, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    logLevel: LogLevel.ERROR,
    ...options,
  });
}

async function rejectsWithSlackError(promise: Promise<unknown>, error: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const coded = err as { code?: string; data?: { error?: string } };
    assert.equal(coded.code, ErrorCode.PlatformError);
    assert.equal(coded.data?.error, error);
    return true;
  });
}

async function rawCall(fake: FakeSlack, method: string, init: RequestInit): Promise<Response> {
  return fetch(`${fake.apiUrl}${method}`, { method: "POST", ...init });
}

test("WebClient posts, threads, edits, reacts, reads and deletes with Slack's answers", async (t) => {
  const fake = await fakeFor(t, NO_LIMITS);
  const channel = fake.createChannel("general");
  const bot = clientFor(fake);
  const alice = fake.createUser("alice");

  const auth = await bot.auth.test();
  assert.equal(auth.user_id, fake.botUserId);
  assert.equal(auth.bot_id, fake.botId);
  assert.equal(auth.team_id, fake.teamId);
  assert.match(fake.botUserId, /^U0BOT/);

  const metadata = { event_type: "watershed_relay", event_payload: { message_id: "m-1" } };
  const root = await bot.chat.postMessage({ channel, text: "hello", metadata, username: "Relay" });
  assert.equal(root.ok, true);
  assert.equal(root.channel, channel);
  assert.match(root.ts ?? "", TS_FORMAT);
  assert.equal(root.message?.text, "hello");
  assert.equal(root.message?.bot_id, fake.botId);
  const rootTs = root.ts ?? "";

  const reply = await bot.chat.postMessage({ channel, text: "first reply", thread_ts: rootTs });
  const replyToReply = await bot.chat.postMessage({ channel, text: "nested", thread_ts: reply.ts ?? "" });
  assert.ok((reply.ts ?? "") > rootTs && (replyToReply.ts ?? "") > (reply.ts ?? ""), "ts strictly increase");
  assert.equal(replyToReply.message?.thread_ts, rootTs, "a reply to a reply threads under the root");

  const thread = await bot.conversations.replies({ channel, ts: reply.ts ?? "" });
  assert.deepEqual(
    thread.messages?.map((m) => m.text),
    ["hello", "first reply", "nested"],
  );
  assert.equal(thread.messages?.[0]?.reply_count, 2);

  const edited = await bot.chat.update({ channel, ts: rootTs, text: "hello, edited" });
  assert.equal(edited.text, "hello, edited");
  await bot.reactions.add({ channel, timestamp: rootTs, name: "thumbsup" });
  await rejectsWithSlackError(
    bot.reactions.add({ channel, timestamp: rootTs, name: "thumbsup" }),
    "already_reacted",
  );
  await rejectsWithSlackError(
    bot.reactions.add({ channel, timestamp: rootTs, name: ":no spaces:" }),
    "invalid_name",
  );
  await rejectsWithSlackError(
    bot.reactions.add({ channel, timestamp: "1600000000.000001", name: "eyes" }),
    "message_not_found",
  );

  const [inspected] = fake.messages(channel);
  assert.deepEqual(inspected, {
    ts: rootTs,
    text: "hello, edited",
    user: fake.botUserId,
    bot_id: fake.botId,
    thread_ts: null,
    edited: true,
    reactions: [{ name: "thumbsup", users: [fake.botUserId] }],
    metadata,
    files: [],
    username: "Relay",
  });

  for (let i = 0; i < 4; i += 1) await bot.chat.postMessage({ channel, text: `top ${i}` });
  const withMetadata = await bot.conversations.history({ channel, include_all_metadata: true });
  const texts = withMetadata.messages?.map((m) => m.text);
  assert.deepEqual(texts, ["top 3", "top 2", "top 1", "top 0", "hello, edited"], "newest first, no replies");
  assert.deepEqual(withMetadata.messages?.at(-1)?.metadata, metadata);
  const plain = await bot.conversations.history({ channel });
  assert.equal(plain.messages?.at(-1)?.metadata, undefined, "metadata only when asked for");

  const paged: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await bot.conversations.history({ channel, limit: 2, cursor });
    paged.push(...(page.messages ?? []).map((m) => m.text ?? ""));
    cursor = page.response_metadata?.next_cursor;
    assert.equal(page.has_more, Boolean(cursor));
    pages += 1;
  } while (cursor);
  assert.equal(pages, 3);
  assert.deepEqual(paged, texts);
  const window = await bot.conversations.history({ channel, oldest: rootTs, inclusive: false });
  assert.equal(window.messages?.length, 4, "oldest excludes the root unless inclusive");

  const fromAlice = await fake.postAsUser(alice, channel, "from a person");
  await rejectsWithSlackError(
    bot.chat.update({ channel, ts: fromAlice.ts, text: "x" }),
    "cant_update_message",
  );
  await rejectsWithSlackError(bot.chat.delete({ channel, ts: fromAlice.ts }), "cant_delete_message");
  const admin = clientFor(fake, fake.adminToken);
  assert.equal(
    (await admin.chat.delete({ channel, ts: fromAlice.ts })).ok,
    true,
    "an admin deletes anyone's",
  );
  const removed = await bot.chat.delete({ channel, ts: reply.ts ?? "" });
  assert.equal(removed.ts, reply.ts);
  assert.deepEqual(fake.deleted(channel), [fromAlice.ts, reply.ts]);
  assert.ok(!fake.messages(channel).some((m) => m.ts === reply.ts));
  await rejectsWithSlackError(bot.chat.delete({ channel, ts: reply.ts ?? "" }), "message_not_found");

  const outside = fake.createChannel("no-bot", { botIsMember: false });
  const archived = fake.createChannel("old");
  fake.archiveChannel(archived);
  await rejectsWithSlackError(bot.chat.postMessage({ channel: "C0NOSUCH1", text: "x" }), "channel_not_found");
  await rejectsWithSlackError(bot.chat.postMessage({ channel, text: "" }), "no_text");
  await rejectsWithSlackError(bot.chat.postMessage({ channel, text: "a".repeat(40_001) }), "msg_too_long");
  await bot.chat.postMessage({ channel, text: "a".repeat(40_000) });
  await rejectsWithSlackError(
    bot.chat.postMessage({ channel, text: "x", thread_ts: "1600000000.000001" }),
    "thread_not_found",
  );
  await rejectsWithSlackError(bot.chat.postMessage({ channel: outside, text: "x" }), "not_in_channel");
  await rejectsWithSlackError(bot.chat.postMessage({ channel: archived, text: "x" }), "is_archived");
  await rejectsWithSlackError(bot.conversations.history({ channel: outside }), "not_in_channel");

  const posts = fake.calls().filter((call) => call.method === "chat.postMessage");
  assert.ok(posts.every((call) => call.status === 200));
  assert.deepEqual(posts.at(-1), { ...posts.at(-1), channel: archived, ok: false, error: "is_archived" });
});

test("files.uploadV2 runs getUploadURLExternal, the upload and completeUploadExternal", async (t) => {
  const fake = await fakeFor(t, NO_LIMITS);
  const channel = fake.createChannel("files");
  const bot = clientFor(fake);
  const root = await bot.chat.postMessage({ channel, text: "report follows" });
  const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 10, 13]);

  const uploaded = await bot.files.uploadV2({
    channel_id: channel,
    file: bytes,
    filename: "report.bin",
    title: "Q3 report",
    initial_comment: "the report",
    thread_ts: root.ts ?? "",
  });
  const completed = (uploaded as unknown as { files: { files: { id: string; title: string }[] }[] }).files;
  const fileId = completed[0]?.files[0]?.id ?? "";
  assert.match(fileId, /^F/);
  assert.deepEqual(fake.fileBytes(fileId), bytes);
  assert.deepEqual(
    fake.calls().map((call) => call.method),
    ["chat.postMessage", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"],
  );

  const shared = fake.messages(channel).at(-1);
  assert.equal(shared?.text, "the report");
  assert.equal(shared?.thread_ts, root.ts);
  assert.deepEqual(shared?.files, [
    { id: fileId, name: "report.bin", title: "Q3 report", size: bytes.length },
  ]);

  const info = await bot.files.info({ file: fileId });
  assert.equal(info.file?.size, bytes.length);
  assert.deepEqual(info.file?.channels, [channel]);
  const download = await fetch(info.file?.url_private ?? "", {
    headers: { authorization: `Bearer ${fake.botToken}` },
  });
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), bytes);
  const viaDownload = await fetch(info.file?.url_private_download ?? "", {
    headers: { authorization: `Bearer ${fake.botToken}` },
  });
  assert.deepEqual(Buffer.from(await viaDownload.arrayBuffer()), bytes);
  assert.equal((await fetch(info.file?.url_private ?? "")).status, 403);

  const reserved = await bot.files.getUploadURLExternal({ filename: "short.txt", length: 10 });
  const short = await fetch(reserved.upload_url ?? "", { method: "POST", body: "only 7 b" });
  assert.equal(short.status, 400, "the uploaded length must match the announced one");
  await rejectsWithSlackError(
    bot.files.completeUploadExternal({ files: [{ id: reserved.file_id ?? "" }], channel_id: channel }),
    "file_not_found",
  );
  const raw = await fetch(reserved.upload_url ?? "", { method: "POST", body: "0123456789" });
  assert.equal(await raw.text(), "OK - 10");
  await rejectsWithSlackError(bot.files.info({ file: "F0NOSUCH00" }), "file_not_found");
});

test("form and JSON bodies authenticate as Slack documents; bad tokens are refused", async (t) => {
  const fake = await fakeFor(t, NO_LIMITS);
  const channel = fake.createChannel("auth");
  const json = (body: unknown, headers: Record<string, string> = {}) =>
    rawCall(fake, "chat.postMessage", {
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
      body: JSON.stringify(body),
    });

  const viaHeader = await json({ channel, text: "json" }, { authorization: `Bearer ${fake.botToken}` });
  assert.equal(viaHeader.status, 200);
  assert.equal(((await viaHeader.json()) as { ok: boolean }).ok, true);
  const tokenInJson = await json({ channel, text: "json", token: fake.botToken });
  assert.deepEqual(await tokenInJson.json(), { ok: false, error: "not_authed" });
  const form = await rawCall(fake, "chat.postMessage", {
    body: new URLSearchParams({ token: fake.botToken, channel, text: "form" }),
  });
  assert.equal(((await form.json()) as { ok: boolean }).ok, true);
  const broken = await rawCall(fake, "chat.postMessage", {
    headers: { "content-type": "application/json", authorization: `Bearer ${fake.botToken}` },
    body: "{not json",
  });
  assert.equal(((await broken.json()) as { error: string }).error, "invalid_json");
  await rejectsWithSlackError(clientFor(fake).apiCall("chat.postMassage", { channel }), "unknown_method");

  await rejectsWithSlackError(clientFor(fake, null).auth.test(), "not_authed");
  await rejectsWithSlackError(clientFor(fake, "xoxb-1-2-unknown").auth.test(), "invalid_auth");
  fake.revoke(fake.botToken);
  await rejectsWithSlackError(
    clientFor(fake).chat.postMessage({ channel, text: "after revoke" }),
    "token_revoked",
  );
  const fixed = fake.issueBotToken();
  assert.notEqual(fixed, fake.botToken);
  assert.equal((await clientFor(fake, fixed).chat.postMessage({ channel, text: "fixed" })).ok, true);
  assert.deepEqual(
    fake.messages(channel).map((m) => m.text),
    ["json", "form", "fixed"],
  );
});

test("writes over a channel's bucket answer 429 with Retry-After; WebClient reports retryAfter", async (t) => {
  const fake = await fakeFor(t);
  const busy = fake.createChannel("busy");
  const quiet = fake.createChannel("quiet");
  const bot = clientFor(fake, fake.botToken, { rejectRateLimitedCalls: true });

  for (let i = 0; i < 3; i += 1) await bot.chat.postMessage({ channel: busy, text: `burst ${i}` });
  await assert.rejects(bot.chat.postMessage({ channel: busy, text: "one too many" }), (err: unknown) => {
    const limited = err as { code?: string; retryAfter?: number };
    assert.equal(limited.code, ErrorCode.RateLimitedError);
    assert.equal(limited.retryAfter, 1);
    return true;
  });
  const raw = await rawCall(fake, "reactions.add", {
    body: new URLSearchParams({ token: fake.botToken, channel: busy, timestamp: "1.0", name: "eyes" }),
  });
  assert.equal(raw.status, 429);
  assert.equal(raw.headers.get("retry-after"), "1");
  assert.deepEqual(await raw.json(), { ok: false, error: "ratelimited" });
  assert.equal((await bot.chat.postMessage({ channel: quiet, text: "other channel" })).ok, true);
  assert.equal((await bot.conversations.history({ channel: busy })).ok, true, "reads are not bucketed");
  assert.equal(fake.messages(busy).length, 3);

  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal((await bot.chat.postMessage({ channel: busy, text: "after a second" })).ok, true);

  fake.rateLimitNext(quiet, 2, 30);
  for (let i = 0; i < 2; i += 1) {
    await assert.rejects(bot.chat.postMessage({ channel: quiet, text: "forced" }), (err: unknown) => {
      assert.equal((err as { retryAfter?: number }).retryAfter, 30);
      return true;
    });
  }
  assert.equal((await bot.chat.postMessage({ channel: quiet, text: "released" })).ok, true);
  const statuses = fake
    .calls()
    .filter((call) => call.channel === quiet)
    .map((call) => call.status);
  assert.deepEqual(statuses, [200, 429, 429, 200]);

  const fresh = fake.createChannel("fresh");
  fake.rateLimitNext(null, 1, 5);
  await assert.rejects(
    bot.reactions.add({ channel: fresh, timestamp: "1.0", name: "eyes" }),
    (err: unknown) => {
      assert.equal((err as { retryAfter?: number }).retryAfter, 5, "null schedules a 429 on any channel");
      return true;
    },
  );
  assert.equal((await bot.chat.postMessage({ channel: fresh, text: "then fine" })).ok, true);
});

test("outages: HTTP 500, a call never answered, and a call done but never answered", async (t) => {
  const fake = await fakeFor(t, NO_LIMITS);
  const channel = fake.createChannel("outage");
  const bot = clientFor(fake, fake.botToken, { timeout: 300 });

  fake.setOutage(OutageMode.error500);
  await assert.rejects(bot.chat.postMessage({ channel, text: "500" }), (err: unknown) => {
    assert.equal((err as { code?: string }).code, ErrorCode.HTTPError);
    assert.equal((err as { statusCode?: number }).statusCode, 500);
    return true;
  });

  fake.setOutage(OutageMode.timeout);
  await assert.rejects(bot.chat.postMessage({ channel, text: "lost" }), (err: unknown) => {
    assert.equal((err as { code?: string }).code, ErrorCode.RequestError);
    return true;
  });
  assert.deepEqual(fake.messages(channel), [], "neither call took effect");

  fake.setOutage(OutageMode.commitThenTimeout);
  await assert.rejects(bot.chat.postMessage({ channel, text: "did it post?" }), (err: unknown) => {
    assert.equal((err as { code?: string }).code, ErrorCode.RequestError);
    return true;
  });
  assert.deepEqual(
    fake.messages(channel).map((m) => m.text),
    ["did it post?"],
    "the call took effect though its caller timed out",
  );

  fake.setOutage(null);
  assert.equal((await bot.chat.postMessage({ channel, text: "back" })).ok, true);
  assert.deepEqual(
    fake.calls().map(({ status, ok }) => ({ status, ok })),
    [
      { status: 500, ok: false },
      { status: null, ok: false },
      { status: null, ok: true },
      { status: 200, ok: true },
    ],
  );
});

test("close() ends a call held by a timeout outage", async () => {
  const fake = await startFakeSlack();
  fake.setOutage(OutageMode.timeout);
  const hanging = rawCall(fake, "auth.test", { headers: { authorization: `Bearer ${fake.botToken}` } });
  await waitFor(() => fake.calls().length === 1, 2000);
  const started = Date.now();
  await fake.close();
  await assert.rejects(hanging);
  assert.ok(Date.now() - started < 1000);
});

test("user actions deliver signed event_callback envelopes shaped like Slack's", async (t) => {
  const fake = await fakeFor(t, NO_LIMITS);
  const receiver = await startReceiver(fake.signingSecret);
  t.after(() => receiver.close());
  fake.setEventsUrl(receiver.url);
  const channel = fake.createChannel("events");
  const alice = fake.createUser("alice");

  const posted = await fake.postAsUser(alice, channel, "hi from alice");
  assert.equal(posted.status, 200);
  const [first] = receiver.received;
  assert.ok(first !== undefined);
  assert.equal(first.headers["content-type"], "application/json");
  assert.ok(first.verified, "the signature recomputes from the signing secret and the raw body");
  const envelope = first.json as EventEnvelope;
  assert.equal(envelope.type, "event_callback");
  assert.equal(envelope.event_id, posted.eventId);
  assert.match(envelope.event_id, /^Ev/);
  assert.equal(envelope.team_id, fake.teamId);
  assert.equal(envelope.api_app_id, fake.appId);
  assert.equal(typeof envelope.event_time, "number");
  assert.equal(envelope.authorizations[0]?.user_id, fake.botUserId);
  assert.equal(envelope.event.type, "message");
  assert.equal(envelope.event.user, alice);
  assert.equal(envelope.event.text, "hi from alice");
  assert.equal(envelope.event.channel, channel);
  assert.equal(envelope.event.ts, posted.ts);
  assert.match(String(envelope.event.client_msg_id), /^[0-9a-f-]{36}$/);

  const reply = await fake.postAsUser(alice, channel, "in thread", { threadTs: posted.ts });
  assert.equal(receiver.last().event.thread_ts, posted.ts);
  await fake.editAsUser(alice, channel, posted.ts, "hi, edited");
  const changed = receiver.last().event;
  assert.equal(changed.subtype, "message_changed");
  assert.equal((changed.message as { text: string }).text, "hi, edited");
  assert.equal((changed.previous_message as { text: string }).text, "hi from alice");
  await fake.reactAsUser(alice, channel, posted.ts, "tada");
  assert.deepEqual(receiver.last().event.item, { type: "message", channel, ts: posted.ts });
  assert.equal(receiver.last().event.item_user, alice);
  await fake.deleteAsUser(alice, channel, reply.ts);
  assert.equal(receiver.last().event.subtype, "message_deleted");
  assert.equal(receiver.last().event.deleted_ts, reply.ts);

  const share = await fake.shareFileAsUser(alice, channel, { name: "notes.txt", bytes: "file body" });
  assert.equal(share.status, 200);
  assert.equal(share.fileShared.status, 200);
  const [fileShare, fileShared] = receiver.received.slice(-2).map((r) => (r.json as EventEnvelope).event);
  assert.equal(fileShare?.subtype, "file_share");
  assert.equal((fileShare?.files as { id: string }[])[0]?.id, share.fileId);
  assert.equal(fileShared?.type, "file_shared");
  assert.equal(fileShared?.file_id, share.fileId);
  assert.equal(fake.fileBytes(share.fileId).toString(), "file body");

  await clientFor(fake).chat.postMessage({ channel, text: "the bot speaks" });
  await fake.idle();
  const echo = receiver.last().event;
  assert.equal(echo.bot_id, fake.botId, "the app's own post comes back as an event");
  assert.equal(echo.user, fake.botUserId);
  assert.equal(echo.client_msg_id, undefined);
  assert.ok(receiver.received.every((r) => r.verified));
  assert.equal(new Set(fake.envelopes().map((e) => e.event_id)).size, receiver.received.length);
});

test("deliver() resends with retry headers, forged signatures, stale timestamps and tampered bodies", async (t) => {
  const fake = await fakeFor(t, NO_LIMITS);
  const receiver = await startReceiver(fake.signingSecret);
  t.after(() => receiver.close());
  fake.setEventsUrl(receiver.url);
  const channel = fake.createChannel("redelivery");
  const posted = await fake.postAsUser(fake.createUser("bob"), channel, "once");

  const retried = await fake.deliver(posted.eventId, { retryNum: 1, retryReason: "http_timeout" });
  assert.equal(retried.status, 200);
  const again = receiver.last();
  assert.equal(receiver.received.at(-1)?.headers["x-slack-retry-num"], "1");
  assert.equal(receiver.received.at(-1)?.headers["x-slack-retry-reason"], "http_timeout");
  assert.equal(again.event_id, posted.eventId, "a retry carries the same event_id");

  const forged = await fake.deliver(posted.eventId, { signature: `v0=${"0".repeat(64)}` });
  const stale = await fake.deliver(posted.eventId, { timestamp: Math.floor(Date.now() / 1000) - 600 });
  const tampered = await fake.deliver(posted.eventId, { tamper: (body) => body.replace("once", "twice") });
  assert.deepEqual([forged.status, stale.status, tampered.status], [401, 401, 401]);
  assert.ok(receiver.received.at(-1)?.body.includes("twice"));

  const verification = await fake.urlVerification();
  assert.equal(verification.status, 200);
  assert.deepEqual(JSON.parse(verification.body), { challenge: verification.challenge });
  assert.deepEqual(
    fake.deliveries().map((d) => [d.retryNum, d.status]),
    [
      [0, 200],
      [1, 200],
      [0, 401],
      [0, 401],
      [0, 401],
      [0, 200],
    ],
  );
});

test("autoRetry resends after http_error and http_timeout, and honours X-Slack-No-Retry", async (t) => {
  const plan: { status: number; delayMs?: number; noRetry?: boolean }[] = [
    { status: 500 },
    { status: 503 },
    { status: 200 },
    { status: 200, delayMs: 400 },
    { status: 200 },
    { status: 503, noRetry: true },
  ];
  const receiver = await startReceiver("unused", (n) => plan[n - 1] ?? { status: 200 });
  t.after(() => receiver.close());
  const fake = await fakeFor(t, {
    ...NO_LIMITS,
    autoRetry: true,
    retryDelaysMs: [0, 20, 20],
    deliveryTimeoutMs: 200,
    eventsUrl: receiver.url,
  });
  const channel = fake.createChannel("retries");
  const carol = fake.createUser("carol");

  const failing = await fake.postAsUser(carol, channel, "retry me");
  assert.equal(failing.status, 500);
  await fake.idle();
  const slow = await fake.postAsUser(carol, channel, "answer late");
  assert.equal(slow.status, null, "no answer within deliveryTimeoutMs");
  await fake.idle();
  await fake.postAsUser(carol, channel, "do not retry");
  await fake.idle();

  assert.deepEqual(
    fake.deliveries().map((d) => [d.eventId, d.retryNum, d.retryReason, d.status]),
    [
      [failing.eventId, 0, null, 500],
      [failing.eventId, 1, "http_error", 503],
      [failing.eventId, 2, "http_error", 200],
      [slow.eventId, 0, null, null],
      [slow.eventId, 1, "http_timeout", 200],
      [fake.envelopes()[2]?.event_id, 0, null, 503],
    ],
  );
  assert.deepEqual(
    receiver.received.slice(0, 3).map((r) => r.headers["x-slack-retry-num"]),
    [undefined, "1", "2"],
  );
});

test("echoBotMessages: false keeps the app's own posts out of the events", async (t) => {
  const receiver = await startReceiver("unused", () => ({ status: 200 }));
  t.after(() => receiver.close());
  const fake = await fakeFor(t, { ...NO_LIMITS, echoBotMessages: false, eventsUrl: receiver.url });
  const channel = fake.createChannel("quiet-bot");
  await clientFor(fake).chat.postMessage({ channel, text: "not echoed" });
  await fake.postAsUser(fake.createUser("dave"), channel, "echoed");
  await fake.idle();
  assert.deepEqual(
    receiver.received.map((r) => (r.json as EventEnvelope).event.text),
    ["echoed"],
  );
});

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  /** The signature matched and the timestamp was fresh. */
  verified: boolean;
}

type Plan = { status: number; delayMs?: number; noRetry?: boolean };

/**
 * A request URL that checks deliveries the way Slack tells apps to: recompute the HMAC over
 * "v0:<timestamp>:<raw body>" and refuse timestamps more than five minutes old.
 * https://docs.slack.dev/authentication/verifying-requests-from-slack
 */
async function startReceiver(signingSecret: string, plan?: (n: number, received: Received) => Plan) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const record: Received = {
        headers: req.headers,
        body,
        json: safeJson(body),
        verified: verify(req.headers, body),
      };
      received.push(record);
      res.on("error", () => undefined);
      const step = plan?.(received.length, record) ?? defaultPlan(record);
      const answer = () => {
        if (res.destroyed) return;
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (step.noRetry) headers["x-slack-no-retry"] = "1";
        res.writeHead(step.status, headers);
        const challenge = (record.json as { challenge?: string } | null)?.challenge;
        res.end(challenge === undefined ? "" : JSON.stringify({ challenge }));
      };
      if (step.delayMs === undefined) answer();
      else setTimeout(answer, step.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  function verify(headers: IncomingHttpHeaders, body: string): boolean {
    const timestamp = Number(headers["x-slack-request-timestamp"]);
    const signature = String(headers["x-slack-signature"] ?? "");
    if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) return false;
    const expected = `v0=${createHmac("sha256", signingSecret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
    return (
      expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature))
    );
  }

  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    received,
    last: () => received.at(-1)?.json as EventEnvelope,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function defaultPlan(record: Received): Plan {
  return { status: record.verified ? 200 : 401 };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
