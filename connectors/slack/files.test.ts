// Files shared in Slack, against the fake Slack over real HTTP: the share comes in through the Events
// API as a message carrying the file, its bytes stream back intact, downloads go to Slack's hosts only
// and fail the way the relay expects, and files.delete removes our own and (with the admin token) users' files.
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import type { FakeSlack } from "../../test/fakes/slack/index.ts";
import {
  ConnectorPermanentError,
  ConnectorRateLimitedError,
  ConnectorTransientError,
  slackConnector,
} from "../index.ts";
import type { Connector, InboundEvent, InboundFile, InboundResult } from "../index.ts";
import { MAX_DOWNLOAD_REDIRECTS } from "./downloads.ts";
import { rejectsWith, withFake } from "./test-support.ts";

const TIMEOUT_MS = 2000;
const MiB = 1024 * 1024;

type Forward = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
/** Sees (and may answer instead of Slack) every request the connector makes. */
type Intercept = (url: string, init: RequestInit | undefined, forward: Forward) => Promise<Response>;

interface Seen {
  url: string;
  authorization: string | null;
}

interface Connected {
  connector: Connector;
  /** Every request the connector made, in order, with the token it carried. */
  seen: Seen[];
}

function connect(
  fake: FakeSlack,
  options: { intercept?: Intercept; adminToken?: string; botToken?: string; timeoutMs?: number } = {},
): Connected {
  const config = slackConnector.configSchema.parse({
    botToken: options.botToken ?? fake.botToken,
    signingSecret: fake.signingSecret,
    apiBaseUrl: fake.apiUrl,
    timeoutMs: options.timeoutMs ?? TIMEOUT_MS,
    ...(options.adminToken === undefined ? {} : { adminToken: options.adminToken }),
  });
  const seen: Seen[] = [];
  const forward: Forward = (input, init) => globalThis.fetch(input, init);
  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    seen.push({ url, authorization: new Headers(init?.headers).get("authorization") });
    return options.intercept === undefined ? forward(input, init) : options.intercept(url, init, forward);
  };
  return { connector: slackConnector.create(config, { fetch, now: Date.now }), seen };
}

/** What the events receiver got: each delivery's event id and what `inbound.handle` made of it. */
interface Received {
  eventId: string | null;
  result: InboundResult;
}

/** A local HTTP receiver for the fake's deliveries that answers as the broker's route does. */
async function withReceiver<T>(
  fake: FakeSlack,
  connector: Connector,
  run: (received: Received[]) => Promise<T>,
): Promise<T> {
  const inbound = connector.inbound;
  assert.ok(inbound);
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const rawBody = Buffer.concat(chunks);
      const result = inbound.handle({ headers: req.headers, rawBody });
      const { event_id: eventId } = JSON.parse(rawBody.toString("utf8")) as { event_id?: string };
      received.push({ eventId: eventId ?? null, result });
      res.writeHead(result.kind === "rejected" ? 401 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.setEventsUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`);
  try {
    return await run(received);
  } finally {
    fake.setEventsUrl(null);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function resultOf(received: Received[], eventId: string): InboundResult {
  const found = received.find((entry) => entry.eventId === eventId);
  assert.ok(found, `no delivery of ${eventId}`);
  return found.result;
}

function onlyEvent(result: InboundResult): InboundEvent {
  assert.equal(result.kind, "events", JSON.stringify(result));
  const events = result.kind === "events" ? result.events : [];
  assert.equal(events.length, 1, JSON.stringify(events));
  return events[0] as InboundEvent;
}

interface Downloaded {
  sha256: string;
  bytes: number;
  chunks: number;
  largestChunk: number;
}

async function download(connector: Connector, file: InboundFile, signal?: AbortSignal): Promise<Downloaded> {
  assert.ok(connector.downloadFile);
  const hash = createHash("sha256");
  const out: Downloaded = { sha256: "", bytes: 0, chunks: 0, largestChunk: 0 };
  for await (const chunk of connector.downloadFile(file, signal)) {
    hash.update(chunk);
    out.bytes += chunk.byteLength;
    out.chunks += 1;
    out.largestChunk = Math.max(out.largestChunk, chunk.byteLength);
  }
  out.sha256 = hash.digest("hex");
  return out;
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Shares `bytes` as a new user and returns the file the resulting inbound event names. */
async function sharedFile(
  fake: FakeSlack,
  connector: Connector,
  bytes: Buffer,
  name = "report.bin",
): Promise<InboundFile> {
  const channel = fake.createChannel(`share-${randomUUID().slice(0, 8)}`);
  const alice = fake.createUser("alice");
  return withReceiver(fake, connector, async (received) => {
    const share = await fake.shareFileAsUser(alice, channel, { name, bytes });
    await fake.idle();
    const [file] = onlyEvent(resultOf(received, share.eventId)).files;
    assert.ok(file);
    return file;
  });
}

/** An answer from a stand-in for Slack's file host. */
function answer(
  status: number,
  body: ConstructorParameters<typeof Response>[0],
  headers: Record<string, string> = {},
): Response {
  return new Response(body, { status, headers });
}

/** A body sent in chunks without a content-length, as a chunked answer comes. */
function chunked(bytes: Buffer): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.byteLength; at += 4) controller.enqueue(bytes.subarray(at, at + 4));
      controller.close();
    },
  });
}

describe("files shared in Slack come in with their message", () => {
  test("a user's share: one message event with the file, none for file_shared, the bytes intact", async () => {
    await withFake(async (fake) => {
      const { connector } = connect(fake);
      const channel = fake.createChannel("inbound-files");
      const bob = fake.createUser("bob");
      const bytes = Buffer.concat([Buffer.from("Q3 numbers\n"), randomBytes(5000)]);
      await withReceiver(fake, connector, async (received) => {
        const root = await fake.postAsUser(bob, channel, "the thread");
        const share = await fake.shareFileAsUser(
          bob,
          channel,
          { name: "q3.bin", bytes, title: "Q3" },
          { threadTs: root.ts },
        );
        await fake.idle();
        const envelope = fake.envelopes().find((sent) => sent.event_id === share.eventId);
        const sentFile = (envelope?.event.files as Record<string, unknown>[] | undefined)?.[0];
        assert.equal(typeof sentFile?.url_private_download, "string");

        const event = onlyEvent(resultOf(received, share.eventId));
        assert.deepEqual(event, {
          eventId: share.eventId,
          channel,
          user: bob,
          kind: "message",
          text: "",
          externalId: `${channel}:${share.ts}`,
          threadOf: `${channel}:${root.ts}`,
          target: null,
          files: [
            { id: share.fileId, name: "q3.bin", size: bytes.byteLength, url: sentFile?.url_private_download },
          ],
        });
        assert.deepEqual(resultOf(received, share.fileShared.eventId), { kind: "events", events: [] });
        assert.deepEqual(onlyEvent(resultOf(received, root.eventId)).files, []);

        const [file] = event.files;
        assert.ok(file);
        const got = await download(connector, file);
        assert.equal(got.sha256, sha256(bytes));
        assert.equal(got.bytes, bytes.byteLength);
      });
      assert.equal(connector.health().healthy, true);
    });
  });

  test("a 10 MiB file streams in many chunks and arrives intact", async () => {
    await withFake(async (fake) => {
      const { connector, seen } = connect(fake);
      const bytes = randomBytes(10 * MiB);
      const file = await sharedFile(fake, connector, bytes, "big.bin");
      assert.equal(file.size, 10 * MiB);
      const got = await download(connector, file);
      assert.equal(got.sha256, sha256(bytes));
      // Chunks pass through as the socket delivers them: never the whole file at once.
      assert.ok(got.chunks > 10, `${got.chunks} chunks`);
      assert.ok(got.largestChunk <= MiB, `a chunk of ${got.largestChunk} bytes`);
      assert.equal(seen.filter((request) => request.url === file.url).length, 1);
      assert.equal(seen.at(-1)?.authorization, `Bearer ${fake.botToken}`);

      // A reader that stops early gets no error, and the connection is let go (the fake closes).
      let chunks = 0;
      assert.ok(connector.downloadFile);
      for await (const chunk of connector.downloadFile(file)) {
        assert.ok(chunk.byteLength > 0);
        chunks += 1;
        if (chunks === 2) break;
      }
      assert.equal(chunks, 2);
    });
  });
});

describe("downloadFile goes to Slack's hosts only", () => {
  test("a URL off Slack's hosts is refused without any request", async () => {
    await withFake(async (fake) => {
      const { connector, seen } = connect(fake);
      const port = new URL(fake.url).port;
      for (const url of [
        "https://evil.example/files-pri/T1-F1/download/a.txt",
        "https://127.0.0.1.evil.example/a.txt",
        `http://localhost:${port}/files-pri/T1-F1/download/a.txt`,
        `http://127.0.0.1:${Number(port) + 1}/files-pri/T1-F1/a.txt`,
        `https://user:pw@127.0.0.1:${port}/files-pri/T1-F1/a.txt`,
        "not a url",
      ]) {
        const err = await rejectsWith(
          fake,
          download(connector, { id: "F0001", name: "a.txt", size: 1, url }),
          ConnectorPermanentError,
        );
        assert.match(err.message, /not on Slack's hosts/);
      }
      assert.deepEqual(seen, []);
    });
  });

  test("redirects are followed on Slack's hosts only, at most twice, the token never sent away", async () => {
    await withFake(async (fake) => {
      const bytes = randomBytes(3000);
      const real = await sharedFile(fake, connect(fake).connector, bytes);
      const hop = (n: number): string => `${fake.url}/hop/${n}`;
      const { connector, seen } = connect(fake, {
        intercept: async (url, init, forward) => {
          const n = /\/hop\/(\d+)$/.exec(url)?.[1];
          if (url.endsWith("/hop/away")) return answer(302, null, { location: "http://127.0.0.2:9/steal" });
          if (n === undefined) return forward(url, init);
          // /hop/0 lands on the real file; /hop/N goes through N more hops first.
          return answer(302, null, { location: n === "0" ? real.url : `/hop/${Number(n) - 1}` });
        },
      });

      const got = await download(connector, { ...real, url: hop(1) });
      assert.equal(got.sha256, sha256(bytes));
      assert.deepEqual(
        seen.map((request) => request.url),
        [hop(1), hop(0), real.url],
      );

      seen.length = 0;
      const tooMany = await rejectsWith(
        fake,
        download(connector, { ...real, url: hop(MAX_DOWNLOAD_REDIRECTS) }),
        ConnectorPermanentError,
      );
      assert.match(tooMany.message, /redirected more than 2 times/);
      assert.equal(seen.length, MAX_DOWNLOAD_REDIRECTS + 1);

      seen.length = 0;
      const away = await rejectsWith(
        fake,
        download(connector, { ...real, url: `${fake.url}/hop/away` }),
        ConnectorPermanentError,
      );
      assert.match(away.message, /away from Slack's hosts/);
      assert.deepEqual(
        seen.map((request) => new URL(request.url).host),
        [new URL(fake.url).host],
      );
    });
  });
});

describe("downloadFile failures", () => {
  test("a sign-in page, 403 and 404 are permanent and leave the connector healthy", async () => {
    await withFake(async (fake) => {
      const bytes = randomBytes(100);
      const file = await sharedFile(fake, connect(fake).connector, bytes, "data.txt");
      const page = "<!DOCTYPE html><html><body>Sign in to Slack</body></html>";
      const { connector } = connect(fake, {
        intercept: async () => answer(200, page, { "content-type": "text/html; charset=utf-8" }),
      });
      const err = await rejectsWith(fake, download(connector, file), ConnectorPermanentError);
      assert.match(err.message, /files:read/);
      assert.equal(connector.health().healthy, true);

      // The fake answers 403 to a refused token, as Slack's file host may.
      const revoked = fake.issueBotToken();
      fake.revoke(revoked);
      const refused = connect(fake, { botToken: revoked }).connector;
      const forbidden = await rejectsWith(fake, download(refused, file), ConnectorPermanentError);
      assert.equal(forbidden.status, 403);
      assert.equal(refused.health().healthy, true);

      const missing = { ...file, url: file.url.replace(file.id, "F0NOSUCHFILE") };
      const notFound = await rejectsWith(
        fake,
        download(connect(fake).connector, missing),
        ConnectorPermanentError,
      );
      assert.equal(notFound.status, 404);
    });
  });

  test("401 is permanent and marks the bot token unhealthy until Slack takes it again", async () => {
    await withFake(async (fake) => {
      const file = await sharedFile(fake, connect(fake).connector, randomBytes(10));
      let refuse = true;
      const { connector } = connect(fake, {
        intercept: async (url, init, forward) =>
          refuse && url === file.url ? answer(401, "Unauthorized") : forward(url, init),
      });
      const err = await rejectsWith(fake, download(connector, file), ConnectorPermanentError);
      assert.equal(err.status, 401);
      const health = connector.health();
      assert.equal(health.healthy, false);
      assert.match(health.detail, /bot token/);
      assert.ok(!health.detail.includes(fake.botToken));
      refuse = false;
      await download(connector, file);
      assert.equal(connector.health().healthy, true);
    });
  });

  test("more bytes than the file has are permanent; a body that ends short is transient", async () => {
    await withFake(async (fake) => {
      const bytes = randomBytes(1000);
      const file = await sharedFile(fake, connect(fake).connector, bytes);
      const plain = connect(fake).connector;
      // Content-Length tells at once.
      const larger = await rejectsWith(
        fake,
        download(plain, { ...file, size: 999 }),
        ConnectorPermanentError,
      );
      assert.match(larger.message, /announced 1000 bytes for a file of 999/);
      await rejectsWith(fake, download(plain, { ...file, size: 1001 }), ConnectorPermanentError);

      // Without one, the count does.
      let body = bytes;
      const { connector } = connect(fake, {
        intercept: async () => answer(200, chunked(body), { "content-type": "application/octet-stream" }),
      });
      const more = await rejectsWith(
        fake,
        download(connector, { ...file, size: 999 }),
        ConnectorPermanentError,
      );
      assert.match(more.message, /more than the 999 bytes/);
      body = bytes.subarray(0, 600);
      const short = await rejectsWith(fake, download(connector, file), ConnectorTransientError);
      assert.match(short.message, /ended after 600 of 1000 bytes/);
      body = bytes;
      assert.equal((await download(connector, file)).sha256, sha256(bytes));
    });
  });

  test("429 is rate limited; 5xx, network errors and a stalled body are transient", async () => {
    await withFake(async (fake) => {
      const file = await sharedFile(fake, connect(fake).connector, randomBytes(64));
      let mode: "429" | "503" | "network" | "stall" = "429";
      const { connector } = connect(fake, {
        timeoutMs: 300,
        intercept: async (_url, init) => {
          if (mode === "429") return answer(429, "slow down", { "retry-after": "7" });
          if (mode === "503") return answer(503, "unavailable");
          if (mode === "network") throw new TypeError("fetch failed");
          // Half the bytes, then nothing until the connector gives up.
          const stalled = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new Uint8Array(32));
              init?.signal?.addEventListener("abort", () => controller.error(init.signal?.reason));
            },
          });
          return answer(200, stalled, { "content-length": "64" });
        },
      });
      const limited = await rejectsWith(fake, download(connector, file), ConnectorRateLimitedError);
      assert.equal(limited.retryAfterMs, 7000);
      mode = "503";
      assert.equal((await rejectsWith(fake, download(connector, file), ConnectorTransientError)).status, 503);
      mode = "network";
      assert.match(
        (await rejectsWith(fake, download(connector, file), ConnectorTransientError)).message,
        /network/,
      );
      mode = "stall";
      const started = Date.now();
      const stalled = await rejectsWith(fake, download(connector, file), ConnectorTransientError);
      assert.match(stalled.message, /timed out/);
      assert.ok(Date.now() - started < 300 + 2000);
      assert.equal(connector.health().healthy, true);
    });
  });

  test("the caller's abort stops a download as a transient failure", async () => {
    await withFake(async (fake) => {
      const file = await sharedFile(fake, connect(fake).connector, randomBytes(2 * MiB));
      const { connector } = connect(fake);
      const controller = new AbortController();
      assert.ok(connector.downloadFile);
      const chunks = connector.downloadFile(file, controller.signal);
      const reading = (async () => {
        for await (const chunk of chunks) {
          assert.ok(chunk.byteLength > 0);
          controller.abort();
        }
      })();
      const err = await rejectsWith(fake, reading, ConnectorTransientError);
      assert.match(err.message, /aborted/);
    });
  });
});

/** Whether the fake answers files.delete (it did not when these tests were written). */
async function fakeDeletes(fake: FakeSlack): Promise<boolean> {
  const response = await fetch(`${fake.apiUrl}files.delete`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${fake.botToken}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "file=F0NOSUCHFILE",
  });
  const body = (await response.json()) as { error?: string };
  return body.error !== "unknown_method";
}

/** files.info as the bot sees it: the file's error, or null while the file is there. */
async function fileInfoError(fake: FakeSlack, fileId: string): Promise<string | null> {
  const response = await fetch(`${fake.apiUrl}files.info`, {
    method: "POST",
    headers: { authorization: `Bearer ${fake.botToken}`, "content-type": "application/json" },
    body: JSON.stringify({ file: fileId }),
  });
  const body = (await response.json()) as { ok: boolean; error?: string };
  return body.ok ? null : (body.error ?? "unknown");
}

describe("deleteFile against the fake Slack", () => {
  test("deletes the bot's own upload with the bot token, and a user's file only with adminToken", async (t) => {
    await withFake(async (fake) => {
      if (!(await fakeDeletes(fake))) {
        t.skip("the fake Slack does not implement files.delete yet");
        return;
      }
      const channel = fake.createChannel("deletes");
      const { connector } = connect(fake);
      assert.ok(connector.uploadFile && connector.deleteFile);
      const bytes = Buffer.from("our own file");
      await connector.uploadFile({
        channel,
        maybeSent: false,
        fileId: randomUUID(),
        filename: "ours.txt",
        title: null,
        size: bytes.byteLength,
        contentType: "text/plain",
        open: async function* () {
          yield bytes;
        },
        threadOf: null,
        comment: null,
      });
      const ours = fake.messages(channel).flatMap((message) => message.files)[0];
      assert.ok(ours);
      await connector.deleteFile(ours.id);
      assert.notEqual(await fileInfoError(fake, ours.id), null);
      await connector.deleteFile(ours.id); // gone already: done

      const alice = fake.createUser("alice");
      const share = await fake.shareFileAsUser(alice, channel, { name: "theirs.txt", bytes: "user's file" });
      const err = await rejectsWith(fake, connector.deleteFile(share.fileId), ConnectorPermanentError);
      assert.match(err.message, /adminToken/);
      assert.equal(await fileInfoError(fake, share.fileId), null);

      const admin = connect(fake, { adminToken: fake.adminToken }).connector;
      await admin.deleteFile?.(share.fileId);
      assert.notEqual(await fileInfoError(fake, share.fileId), null);
      assert.equal(admin.health().healthy, true);
    });
  });
});

/** A stand-in for files.delete following its documented answers (https://docs.slack.dev/reference/methods/files.delete). */
function filesDeleteStub(
  fake: FakeSlack,
  answers: { bot: string | null; admin?: string | null },
  calls: { token: string | null; file: string | null }[],
): Intercept {
  return async (url, init, forward) => {
    if (!url.endsWith("/files.delete")) return forward(url, init);
    const token = new Headers(init?.headers).get("authorization")?.replace(/^Bearer /, "") ?? null;
    calls.push({ token, file: new URLSearchParams(String(init?.body)).get("file") });
    const error = token === fake.botToken ? answers.bot : (answers.admin ?? null);
    return Response.json(error === null ? { ok: true } : { ok: false, error });
  };
}

describe("deleteFile follows files.delete's documented answers", () => {
  test("bot first; cant_delete_file goes to the admin token, or fails naming adminToken", async () => {
    await withFake(async (fake) => {
      const calls: { token: string | null; file: string | null }[] = [];
      const run = async (answers: { bot: string | null; admin?: string | null }, admin: boolean) => {
        calls.length = 0;
        const intercept = filesDeleteStub(fake, answers, calls);
        const { connector } = connect(fake, { intercept, ...(admin ? { adminToken: fake.adminToken } : {}) });
        assert.ok(connector.deleteFile);
        return { connector, done: connector.deleteFile("F0ABC123") };
      };
      const bot = { token: fake.botToken, file: "F0ABC123" };
      const admin = { token: fake.adminToken, file: "F0ABC123" };

      await (
        await run({ bot: null }, true)
      ).done;
      assert.deepEqual(calls, [bot]);
      await (
        await run({ bot: "file_deleted" }, true)
      ).done;
      assert.deepEqual(calls, [bot]);
      await (
        await run({ bot: "file_not_found" }, false)
      ).done;
      assert.deepEqual(calls, [bot]);
      // "not visible to the calling user": the admin, who sees more, settles it.
      await (
        await run({ bot: "file_not_found", admin: "file_not_found" }, true)
      ).done;
      assert.deepEqual(calls, [bot, admin]);
      await (
        await run({ bot: "cant_delete_file", admin: null }, true)
      ).done;
      assert.deepEqual(calls, [bot, admin]);
      await (
        await run({ bot: "cant_delete_file", admin: "file_deleted" }, true)
      ).done;
      assert.deepEqual(calls, [bot, admin]);

      const noAdmin = await run({ bot: "cant_delete_file" }, false);
      assert.match((await rejectsWith(fake, noAdmin.done, ConnectorPermanentError)).message, /adminToken/);
      assert.deepEqual(calls, [bot]);

      const disabled = await run({ bot: "file_deleting_disabled" }, true);
      assert.match(
        (await rejectsWith(fake, disabled.done, ConnectorPermanentError)).message,
        /file_deleting_disabled/,
      );
      assert.deepEqual(calls, [bot]);

      const revokedAdmin = await run({ bot: "cant_delete_file", admin: "token_revoked" }, true);
      await rejectsWith(fake, revokedAdmin.done, ConnectorPermanentError);
      assert.match(revokedAdmin.connector.health().detail, /admin token \(token_revoked\)/);

      const badId = await run({ bot: null }, true);
      await badId.done;
      calls.length = 0;
      await rejectsWith(
        fake,
        badId.connector.deleteFile?.("C0NOTAFILE") ?? Promise.resolve(),
        ConnectorPermanentError,
      );
      assert.deepEqual(calls, []);
    });
  });
});
