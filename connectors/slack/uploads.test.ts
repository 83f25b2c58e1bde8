// The Slack connector's file upload against the fake Slack over real HTTP: the three steps, streaming
// a large file, thread replies, unknown outcomes, and the failures each step can meet.
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { describe, test } from "node:test";
import { setTimeout } from "node:timers/promises";
import type { FakeSlack, FakeSlackMessage } from "../../test/fakes/slack/index.ts";
import {
  ConnectorPermanentError,
  ConnectorRateLimitedError,
  ConnectorTransientError,
  slackConnector,
} from "../index.ts";
import type { Connector, UploadRequest } from "../index.ts";
import { uploadTimeoutMs, uploadUrlFrom } from "./uploads.ts";
import { methodsCalled, rejectsWith as rejectsLeaking, withFake } from "./test-support.ts";

/** Short, so outage tests end quickly; the fake answers loopback calls in a few ms. */
const TIMEOUT_MS = 300;
const COMMENT = 'Q3 report "do-not-leak-7f3a"';
const MiB = 1024 * 1024;

type Forward = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
/** Sees (and may change) every request the connector makes; forwards it with `forward`. */
type Intercept = (url: string, init: RequestInit | undefined, forward: Forward) => Promise<Response>;

function connect(fake: FakeSlack, intercept?: Intercept): Connector {
  const config = slackConnector.configSchema.parse({
    botToken: fake.botToken,
    signingSecret: fake.signingSecret,
    apiBaseUrl: fake.apiUrl,
    timeoutMs: TIMEOUT_MS,
  });
  const forward: Forward = (input, init) => globalThis.fetch(input, init);
  const fetch: typeof globalThis.fetch =
    intercept === undefined
      ? forward
      : (input, init) => intercept(input instanceof Request ? input.url : String(input), init, forward);
  return slackConnector.create(config, { fetch, now: Date.now });
}

/** A file's bytes as the on-prem store would hand them over: a fresh iterable per `open()`. */
interface Source {
  open(): AsyncIterable<Uint8Array>;
  /** How many times `open()` was called. */
  opened: number;
  /** Chunks handed out so far, over all opens. */
  pulled: number;
}

function sourceOf(bytes: Buffer, chunkBytes = 4): Source {
  const source: Source = {
    opened: 0,
    pulled: 0,
    async *open() {
      source.opened += 1;
      for (let at = 0; at < bytes.byteLength; at += chunkBytes) {
        source.pulled += 1;
        yield bytes.subarray(at, at + chunkBytes);
      }
    },
  };
  return source;
}

function uploadOf(channel: string, source: Source, overrides: Partial<UploadRequest> = {}): UploadRequest {
  return {
    channel,
    maybeSent: false,
    fileId: randomUUID(),
    filename: "report.txt",
    title: "Q3 report",
    size: 0,
    contentType: "text/plain",
    open: () => source.open(),
    threadOf: null,
    comment: COMMENT,
    ...overrides,
  };
}

/** An upload of `bytes`, announced with their length. */
function fileUpload(channel: string, bytes: Buffer, overrides: Partial<UploadRequest> = {}): UploadRequest {
  return uploadOf(channel, sourceOf(bytes), { size: bytes.byteLength, ...overrides });
}

/** The channel's messages that carry files. */
function fileMessages(fake: FakeSlack, channel: string): FakeSlackMessage[] {
  return fake.messages(channel).filter((message) => message.files.length > 0);
}

/** Arms `commit-then-timeout` before files.completeUploadExternal: the file lands, its answer never comes. */
function loseCompleteAnswer(fake: FakeSlack): Intercept {
  return (url, init, forward) => {
    if (url.endsWith("/files.completeUploadExternal")) fake.setOutage("commit-then-timeout");
    return forward(url, init);
  };
}

/** Awaits a rejection of `errorClass` whose message leaks neither a secret nor the test's text. */
function rejectsWith<E extends Error>(
  fake: FakeSlack,
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => E,
): Promise<E> {
  return rejectsLeaking(fake, promise, errorClass, ["do-not-leak-7f3a", "/upload/v1/"]);
}

describe("uploadFile against the fake Slack", () => {
  test("a small file: three steps, the bytes intact, the id of the sharing message", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("files");
      const bytes = Buffer.from("quarterly numbers\n");
      const { externalId } = await connect(fake).uploadFile!(fileUpload(channel, bytes));

      const [shared] = fileMessages(fake, channel);
      assert.ok(shared);
      assert.equal(externalId, `${channel}:${shared.ts}`);
      assert.equal(shared.text, COMMENT);
      assert.equal(shared.bot_id, fake.botId);
      assert.equal(shared.thread_ts, null);
      const [file] = shared.files;
      assert.ok(file);
      assert.deepEqual(
        { name: file.name, title: file.title, size: file.size },
        {
          name: "report.txt",
          title: "Q3 report",
          size: bytes.byteLength,
        },
      );
      assert.deepEqual(fake.fileBytes(file.id), bytes);
      assert.deepEqual(
        fake.calls().map((call) => call.method),
        ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"],
      );
    });
  });

  test("without title or comment the file keeps its name and the message has no text", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("bare");
      const bytes = Buffer.from("x");
      await connect(fake).uploadFile!(
        fileUpload(channel, bytes, { title: null, comment: null, filename: "x.csv" }),
      );
      const [shared] = fileMessages(fake, channel);
      assert.equal(shared?.text, "");
      assert.equal(shared?.files[0]?.title, "x.csv");
    });
  });

  test("a 20 MiB file is streamed from its generator, never gathered before the request", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("big");
      const size = 20 * MiB;
      const chunkBytes = 64 * 1024;
      const sent = createHash("sha256");
      let pulled = 0;
      async function* generate(): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < size; at += chunkBytes) {
          const chunk = randomBytes(chunkBytes);
          sent.update(chunk);
          pulled += 1;
          yield chunk;
        }
      }
      // Checked twice: nothing read ahead while the request waits to be sent, and while it is sent
      // the generator never runs more than a chunk ahead of what went onto the socket.
      let pulledWhenSent: number | null = null;
      let body: unknown;
      let maxLead = 0;
      const connector = connect(fake, async (url, init, forward) => {
        if (!url.includes("/upload/v1/")) return forward(url, init);
        body = init?.body;
        assert.ok(body instanceof ReadableStream, "the bytes go as a stream, not a buffer");
        await setTimeout(50);
        pulledWhenSent = pulled;
        const reader = (body as ReadableStream<Uint8Array>).getReader();
        let consumed = 0;
        const counted = new ReadableStream<Uint8Array>(
          {
            async pull(controller) {
              const next = await reader.read();
              if (next.done) return controller.close();
              consumed += 1;
              maxLead = Math.max(maxLead, pulled - consumed);
              controller.enqueue(next.value);
            },
            cancel: (reason) => reader.cancel(reason),
          },
          { highWaterMark: 0 },
        );
        return forward(url, { ...init, body: counted, duplex: "half" });
      });

      const { externalId } = await connector.uploadFile!(
        uploadOf(channel, sourceOf(Buffer.alloc(0)), { size, filename: "big.bin", open: generate }),
      );
      assert.ok(body instanceof ReadableStream);
      assert.ok(
        pulledWhenSent !== null && pulledWhenSent <= 1,
        `chunks read before sending: ${pulledWhenSent}`,
      );
      assert.ok(maxLead <= 1, `the generator ran ${maxLead} chunks ahead of the socket`);
      assert.equal(pulled, size / chunkBytes);
      const [shared] = fileMessages(fake, channel);
      assert.equal(externalId, `${channel}:${shared?.ts}`);
      const fileId = shared?.files[0]?.id ?? "";
      assert.equal(createHash("sha256").update(fake.fileBytes(fileId)).digest("hex"), sent.digest("hex"));
    });
  });

  test("a reply's file goes into the parent's thread", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("thread-files");
      const connector = connect(fake);
      const parent = await connector.uploadFile!(fileUpload(channel, Buffer.from("first")));
      const reply = await connector.uploadFile!(
        fileUpload(channel, Buffer.from("second"), { threadOf: parent.externalId, comment: "the fix" }),
      );
      const [root, child] = fileMessages(fake, channel);
      assert.equal(reply.externalId, `${channel}:${child?.ts}`);
      assert.equal(child?.thread_ts, root?.ts);
      assert.equal(child?.text, "the fix");
    });
  });

  test("the file's own id stands in when Slack does not say which message shares it", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("async-share");
      // As Slack often answers: sharing happens later, so neither answer has `shares` yet.
      const connector = connect(fake, async (url, init, forward) => {
        const response = await forward(url, init);
        if (!url.endsWith("/files.completeUploadExternal") && !url.endsWith("/files.info")) return response;
        const answer = (await response.json()) as {
          files?: Record<string, unknown>[];
          file?: Record<string, unknown>;
        };
        for (const file of [...(answer.files ?? []), ...(answer.file === undefined ? [] : [answer.file])]) {
          delete file.shares;
        }
        return Response.json(answer);
      });
      const { externalId } = await connector.uploadFile!(fileUpload(channel, Buffer.from("later")));
      const fileId = fileMessages(fake, channel)[0]?.files[0]?.id;
      assert.equal(externalId, `file:${fileId}`);
      assert.equal(methodsCalled(fake, "files.info"), 3);
    });
  });
});

describe("uploadFile with an unknown outcome (maybeSent)", () => {
  test("finds the file that landed before the timeout and shares nothing twice", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("lost-answer");
      const bytes = Buffer.from("the numbers");
      const connector = connect(fake, loseCompleteAnswer(fake));
      const request = fileUpload(channel, bytes);
      await rejectsWith(fake, connector.uploadFile!(request), ConnectorTransientError);
      fake.setOutage(null);
      assert.equal(fileMessages(fake, channel).length, 1, "the file landed although its answer never came");
      // Newer decoys, read first (newest first): a person's file of the same name and size, our other file.
      const bob = fake.createUser("bob");
      await fake.shareFileAsUser(bob, channel, { name: "report.txt", bytes });
      await connect(fake).uploadFile!(fileUpload(channel, Buffer.from("other"), { filename: "other.txt" }));

      const reservations = methodsCalled(fake, "files.getUploadURLExternal");
      const { externalId } = await connector.uploadFile!({ ...request, maybeSent: true });
      const landed = fileMessages(fake, channel)[0];
      assert.equal(landed?.bot_id, fake.botId);
      assert.equal(externalId, `${channel}:${landed?.ts}`);
      assert.equal(methodsCalled(fake, "files.getUploadURLExternal"), reservations, "no second upload");
      assert.equal(fileMessages(fake, channel).length, 3);

      // After a restart nothing is remembered: the 24-hour window finds it all the same.
      const restarted = connect(fake);
      const found = await restarted.uploadFile!({ ...request, maybeSent: true });
      assert.deepEqual(found, { externalId, cloudFileId: landed?.files[0]?.id });
      assert.equal(methodsCalled(fake, "files.getUploadURLExternal"), reservations);
    });
  });

  test("finds a thread reply's file with conversations.replies, not the same-looking root", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("lost-reply");
      const bytes = Buffer.from("same name, same size");
      const parent = await connect(fake).uploadFile!(fileUpload(channel, bytes));
      const connector = connect(fake, loseCompleteAnswer(fake));
      const request = fileUpload(channel, bytes, { threadOf: parent.externalId });
      await rejectsWith(fake, connector.uploadFile!(request), ConnectorTransientError);
      fake.setOutage(null);

      const { externalId } = await connector.uploadFile!({ ...request, maybeSent: true });
      const [root, child] = fileMessages(fake, channel);
      assert.ok(root && child);
      assert.equal(child.thread_ts, root.ts);
      assert.equal(externalId, `${channel}:${child?.ts}`);
      assert.equal(fileMessages(fake, channel).length, 2);
      assert.ok(methodsCalled(fake, "conversations.replies") >= 1);
    });
  });

  test("uploads when the earlier attempt never landed", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("never-landed");
      const connector = connect(fake);
      const request = fileUpload(channel, Buffer.from("again"));
      fake.setOutage("timeout");
      await rejectsWith(fake, connector.uploadFile!(request), ConnectorTransientError);
      fake.setOutage(null);
      const { externalId } = await connector.uploadFile!({ ...request, maybeSent: true });
      const [shared] = fileMessages(fake, channel);
      assert.equal(externalId, `${channel}:${shared?.ts}`);
      assert.equal(fileMessages(fake, channel).length, 1);
    });
  });
});

describe("uploadFile failures", () => {
  test("a revoked token is permanent and unhealthy, before any byte is read", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("revoked");
      const connector = connect(fake);
      const source = sourceOf(Buffer.from("secret-free bytes"));
      fake.revoke(fake.botToken);
      const err = await rejectsWith(
        fake,
        connector.uploadFile!(uploadOf(channel, source, { size: 17 })),
        ConnectorPermanentError,
      );
      assert.match(err.message, /token_revoked/);
      assert.equal(connector.health().healthy, false);
      assert.match(connector.health().detail, /bot token \(token_revoked\)/);
      assert.equal(source.opened, 0);
    });
  });

  test("a 429 on sharing is ConnectorRateLimitedError with Retry-After in ms", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("limited");
      const connector = connect(fake);
      fake.rateLimitNext(channel, 1, 5);
      const err = await rejectsWith(
        fake,
        connector.uploadFile!(fileUpload(channel, Buffer.from("wait"))),
        ConnectorRateLimitedError,
      );
      assert.equal(err.retryAfterMs, 5000);
      assert.equal(fileMessages(fake, channel).length, 0);
      assert.equal(connector.health().healthy, true);
    });
  });

  test("HTTP 500 is transient", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("down");
      const connector = connect(fake);
      const source = sourceOf(Buffer.from("later"));
      fake.setOutage("error500");
      const err = await rejectsWith(
        fake,
        connector.uploadFile!(uploadOf(channel, source, { size: 5 })),
        ConnectorTransientError,
      );
      assert.ok(!(err instanceof ConnectorRateLimitedError));
      assert.equal(err.status, 500);
      assert.equal(source.opened, 0);
    });
  });

  test("bytes shorter or longer than announced are transient and share nothing", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("mismatch");
      const connector = connect(fake);
      const short = await rejectsWith(
        fake,
        connector.uploadFile!(fileUpload(channel, Buffer.from("123456789"), { size: 10 })),
        ConnectorTransientError,
      );
      assert.match(short.message, /had 9 bytes, not the 10 announced/);
      const long = await rejectsWith(
        fake,
        connector.uploadFile!(fileUpload(channel, Buffer.from("12345678901"), { size: 10 })),
        ConnectorTransientError,
      );
      assert.match(long.message, /more than the 10 bytes announced/);
      assert.equal(methodsCalled(fake, "files.completeUploadExternal"), 0);
      assert.equal(fileMessages(fake, channel).length, 0);
    });
  });

  test("a refused upload (non-200 from upload_url) is transient", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("refused");
      // The fake answers 404 for an upload URL it never handed out.
      const connector = connect(fake, (url, init, forward) =>
        forward(url.includes("/upload/v1/") ? `${url}-unknown` : url, init),
      );
      const err = await rejectsWith(
        fake,
        connector.uploadFile!(fileUpload(channel, Buffer.from("bytes"))),
        ConnectorTransientError,
      );
      assert.equal(err.status, 404);
      assert.equal(methodsCalled(fake, "files.completeUploadExternal"), 0);
    });
  });

  test("an upload URL off Slack's host is refused before any byte or token goes there", async () => {
    await withFake(async (fake) => {
      const channel = fake.createChannel("elsewhere");
      const requested: string[] = [];
      const connector = connect(fake, async (url, init, forward) => {
        requested.push(url);
        const response = await forward(url, init);
        if (!url.endsWith("/files.getUploadURLExternal")) return response;
        const answer = (await response.json()) as Record<string, unknown>;
        return Response.json({ ...answer, upload_url: "https://files.example.net/upload/v1/abc" });
      });
      const source = sourceOf(Buffer.from("bytes"));
      await rejectsWith(
        fake,
        connector.uploadFile!(uploadOf(channel, source, { size: 5 })),
        ConnectorPermanentError,
      );
      assert.ok(!requested.some((url) => url.includes("example.net")));
      assert.equal(source.opened, 0);
    });
  });
});

describe("upload helpers", () => {
  test("uploadUrlFrom accepts Slack's file host and the API's own origin only", () => {
    const slack = "https://slack.com/api/";
    assert.equal(uploadUrlFrom("https://files.slack.com/upload/v1/ABC", slack)?.host, "files.slack.com");
    assert.ok(uploadUrlFrom("http://127.0.0.1:9/upload/v1/x", "http://127.0.0.1:9/api/"));
    for (const bad of [
      "http://files.slack.com/upload/v1/ABC",
      "https://files.slack.com.evil.test/upload",
      "https://evilslack.com/upload",
      "https://user:pw@files.slack.com/upload",
      "not a url",
    ]) {
      assert.equal(uploadUrlFrom(bad, slack), null, bad);
    }
  });

  test("uploadTimeoutMs adds a second per MiB to the call timeout", () => {
    assert.equal(uploadTimeoutMs(10_000, 0), 10_000);
    assert.equal(uploadTimeoutMs(10_000, 20 * MiB), 30_000);
    assert.equal(uploadTimeoutMs(300, 1), 301);
  });
});
