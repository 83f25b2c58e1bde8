import { strict as assert } from "node:assert";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { Message } from "../../policies/model.ts";
import { startWebhookReceiver } from "../../test/fakes/webhook-receiver.ts";
import type { WebhookReceiverOptions } from "../../test/fakes/webhook-receiver.ts";
import { testMessage } from "../../test/helpers/messages.ts";
import {
  Capability,
  ConnectorPermanentError,
  ConnectorRateLimitedError,
  ConnectorTransientError,
  connectorFactories,
  verifyWebhookSignature,
  webhookConnector,
} from "../index.ts";
import type { Connector, ConnectorDeps, SendRequest } from "../index.ts";
import { computeWebhookSignature, signWebhookPayload } from "./sign.ts";

const SECRET = "whsec-test-0123456789-abcdef";
// A quote and a newline make the JSON-escaped form differ from the raw text.
const TEXT = 'Q3 numbers "do-not-leak-7f3a"\nsecond line';
const T0 = 1_750_000_000; // a fixed unix time in seconds for the pure tests

const makeMessage = (text = TEXT): Message => testMessage({ text });

const outbound = (message = makeMessage()): SendRequest => ({
  message,
  channel: "general",
  threadOf: null,
  maybeSent: false,
});

const realDeps: ConnectorDeps = { fetch: globalThis.fetch, now: Date.now };

function connect(
  url: string,
  overrides: { secret?: string; timeoutMs?: number } = {},
  deps = realDeps,
): Connector {
  return webhookConnector.create(
    webhookConnector.configSchema.parse({ url, secret: overrides.secret ?? SECRET, ...overrides }),
    deps,
  );
}

/** Awaits a rejection of the given class, and checks its message leaks neither the secret nor the text. */
async function rejectsWith<E extends Error>(
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof errorClass, `expected ${errorClass.name}, got ${String(err)}`);
    assertNoLeak(err.message);
    return err;
  }
  return assert.fail(`expected ${errorClass.name}, but the send succeeded`);
}

function assertNoLeak(text: string): void {
  assert.ok(!text.includes(SECRET), `the secret leaked into: ${text}`);
  for (const line of TEXT.split("\n"))
    assert.ok(!text.includes(line), `the message text leaked into: ${text}`);
  assert.ok(!text.includes(JSON.stringify(TEXT).slice(1, -1)), `the escaped text leaked into: ${text}`);
  // A distinctive part of the text, so a quote of any form of it is caught.
  assert.ok(!text.includes("do-not-leak-7f3a"), `part of the message text leaked into: ${text}`);
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A bare HTTP server for answers the fake receiver does not give (echoes, hangs, redirects). */
async function withServer<T>(handler: Handler, run: (url: string) => Promise<T>): Promise<T> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handler(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await run(`http://127.0.0.1:${port}/hook/tok3n-in-path`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function withReceiver<T>(
  options: Omit<WebhookReceiverOptions, "secret"> & { secret?: string },
  run: (receiver: Awaited<ReturnType<typeof startWebhookReceiver>>) => Promise<T>,
): Promise<T> {
  const receiver = await startWebhookReceiver({ secret: SECRET, ...options });
  try {
    return await run(receiver);
  } finally {
    await receiver.close();
  }
}

describe("verifyWebhookSignature", () => {
  const body = JSON.stringify({ message: makeMessage(), binding: null });
  const { timestamp, signature } = signWebhookPayload(SECRET, T0, body);
  const now = T0 * 1000;

  test("accepts what signWebhookPayload produced", () => {
    assert.equal(signature, `v1=${computeWebhookSignature(SECRET, String(T0), body)}`);
    assert.match(signature, /^v1=[0-9a-f]{64}$/);
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, body, now), true);
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, Buffer.from(body), now), true);
  });

  test("rejects a tampered body", () => {
    assert.equal(
      verifyWebhookSignature(SECRET, timestamp, signature, body.replace("alice", "mallory"), now),
      false,
    );
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, `${body} `, now), false);
  });

  test("rejects a wrong secret", () => {
    assert.equal(verifyWebhookSignature(`${SECRET}x`, timestamp, signature, body, now), false);
    assert.equal(verifyWebhookSignature("", timestamp, signature, body, now), false);
  });

  test("rejects a stale or future timestamp, accepts one within tolerance", () => {
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, body, now + 300_000), true);
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, body, now + 301_000), false);
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, body, now - 301_000), false);
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, body, now + 61_000, 60), false);
    assert.equal(verifyWebhookSignature(SECRET, timestamp, signature, body, Number.NaN), false);
  });

  test("rejects a timestamp swapped under the same signature", () => {
    assert.equal(verifyWebhookSignature(SECRET, String(T0 + 1), signature, body, now), false);
  });

  test("rejects malformed headers without throwing", () => {
    const hex = signature.slice(3);
    for (const [ts, sig] of [
      [undefined, signature],
      [timestamp, undefined],
      [timestamp, hex],
      [timestamp, `v0=${hex}`],
      [timestamp, `v1=${hex.slice(2)}`],
      [timestamp, `v1=${hex}=`],
      [timestamp, `v1=${"zz".repeat(32)}`],
      [` ${timestamp}`, signature],
      [`${timestamp}.0`, signature],
      ["", signature],
    ] as const) {
      assert.equal(
        verifyWebhookSignature(SECRET, ts, sig, body, now),
        false,
        `${String(ts)} / ${String(sig)}`,
      );
    }
  });

  test("accepts one good signature among several (secret rotation)", () => {
    const old = signWebhookPayload("an-older-secret-0123456789", T0, body).signature;
    assert.equal(verifyWebhookSignature(SECRET, timestamp, `${old}, ${signature}`, body, now), true);
    assert.equal(verifyWebhookSignature(SECRET, timestamp, old, body, now), false);
  });

  test("property: sign-then-verify holds, and flipping any byte of the body or signature breaks it", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        (secret, bytes, position, mask, seconds) => {
          const signed = signWebhookPayload(secret, seconds, bytes);
          const at = seconds * 1000;
          assert.equal(verifyWebhookSignature(secret, signed.timestamp, signed.signature, bytes, at), true);

          const tampered = Uint8Array.from(bytes);
          const i = position % tampered.length;
          tampered[i] = (tampered[i] ?? 0) ^ mask;
          assert.equal(
            verifyWebhookSignature(secret, signed.timestamp, signed.signature, tampered, at),
            false,
          );

          // Flip a byte of the MAC itself: flipping hex case would not change it.
          const mac = Buffer.from(signed.signature.slice(3), "hex");
          const j = position % mac.length;
          mac[j] = (mac[j] ?? 0) ^ mask;
          const forged = `v1=${mac.toString("hex")}`;
          assert.equal(verifyWebhookSignature(secret, signed.timestamp, forged, bytes, at), false);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("property: a string body and its UTF-8 bytes verify alike", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 16 }), fc.string({ unit: "grapheme" }), (secret, text) => {
        const signed = signWebhookPayload(secret, T0, text);
        const bytes = Buffer.from(text, "utf8");
        assert.equal(
          verifyWebhookSignature(secret, signed.timestamp, signed.signature, bytes, T0 * 1000),
          true,
        );
      }),
    );
  });
});

describe("webhook config schema", () => {
  const schema = webhookConnector.configSchema;

  test("accepts http and https URLs and defaults timeoutMs to 10000", () => {
    assert.equal(schema.parse({ url: "https://hooks.example.com/x", secret: SECRET }).timeoutMs, 10_000);
    assert.equal(
      schema.parse({ url: "http://127.0.0.1:8080/", secret: SECRET, timeoutMs: 50 }).timeoutMs,
      50,
    );
  });

  test("rejects a bad URL", () => {
    for (const url of [
      "not a url",
      "ftp://example.com/x",
      "file:///etc/passwd",
      "javascript:alert(1)",
      "http:example.com",
      "https://user:pw@example.com/",
      "",
    ]) {
      assert.equal(schema.safeParse({ url, secret: SECRET }).success, false, url);
    }
  });

  test("rejects a short secret without echoing it", () => {
    const short = "fifteen-chars!!";
    assert.equal(short.length, 15);
    const result = schema.safeParse({ url: "https://example.com", secret: short });
    assert.equal(result.success, false);
    assert.ok(!String(result.error?.message).includes(short));
    assert.equal(schema.safeParse({ url: "https://example.com", secret: "x".repeat(16) }).success, true);
  });

  test("rejects a bad timeout and unknown keys", () => {
    for (const timeoutMs of [0, -1, 1.5, "100"]) {
      assert.equal(
        schema.safeParse({ url: "https://example.com", secret: SECRET, timeoutMs }).success,
        false,
      );
    }
    assert.equal(schema.safeParse({ url: "https://example.com", secret: SECRET, extra: 1 }).success, false);
  });

  test("create() refuses an unvalidated bad config", () => {
    assert.throws(() => webhookConnector.create({ url: "ftp://x", secret: "short", timeoutMs: 1 }, realDeps));
  });
});

describe("the connectors registry", () => {
  test("holds the webhook factory under its kind", () => {
    assert.equal(connectorFactories.get("webhook"), webhookConnector);
    assert.equal(webhookConnector.kind, "webhook");
  });

  test("a webhook connector promises idempotent sends and takes edits, deletes and reactions as messages", () => {
    const connector = connect("https://example.com/hook");
    assert.deepEqual(
      [...connector.capabilities].sort(),
      [Capability.deletes, Capability.edits, Capability.idempotentSend, Capability.reactions].sort(),
    );
    assert.equal(connector.kind, "webhook");
  });
});

describe("webhook connector against a real receiver", () => {
  test("delivers a signed POST whose idempotency key is the message id", async () => {
    await withReceiver({}, async (receiver) => {
      const message = makeMessage();
      const result = await connect(receiver.url).send(outbound(message));
      assert.equal(result.externalId, `wh_${message.id}`);
      assert.equal(receiver.rawCount(), 1);
      assert.equal(receiver.rejected(), 0);
      const [delivery] = receiver.deliveries;
      assert.equal(delivery?.idempotencyKey, message.id);
      assert.deepEqual(delivery?.message, message);
      assert.deepEqual(delivery?.binding, { connector: "webhook", channel: "general" });
    });
  });

  test("sends the documented headers and a body of exactly { message, binding }", async () => {
    const seen: { headers: IncomingMessage["headers"]; body: string }[] = [];
    const message = makeMessage();
    const nowMs = 1_750_000_123_456;
    await withServer(
      (req, res, body) => {
        seen.push({ headers: req.headers, body });
        res.writeHead(200).end();
      },
      (url) => connect(url, {}, { fetch: globalThis.fetch, now: () => nowMs }).send(outbound(message)),
    );
    const [request] = seen;
    assert.ok(request !== undefined);
    assert.equal(request.headers["content-type"], "application/json");
    assert.equal(request.headers["idempotency-key"], message.id);
    assert.equal(request.headers["x-watershed-timestamp"], "1750000123");
    assert.equal(
      request.body,
      JSON.stringify({ message, binding: { connector: "webhook", channel: "general" } }),
    );
    const expected = computeWebhookSignature(SECRET, "1750000123", request.body);
    assert.equal(request.headers["x-watershed-signature"], `v1=${expected}`);
    assert.equal(
      verifyWebhookSignature(
        SECRET,
        request.headers["x-watershed-timestamp"],
        String(request.headers["x-watershed-signature"]),
        request.body,
        nowMs,
      ),
      true,
    );
  });

  test("falls back to the message id when the 2xx answer has no usable id", async () => {
    for (const [status, body] of [
      [204, ""],
      [200, "accepted"],
      [200, '{"ok":true}'],
      [202, '{"id":42}'],
      [200, '{"id":""}'],
    ] as const) {
      const message = makeMessage();
      const result = await withServer(
        (_req, res) => res.writeHead(status).end(body),
        (url) => connect(url).send(outbound(message)),
      );
      assert.equal(result.externalId, message.id, `${status} ${body}`);
    }
  });

  test("takes the id from a JSON answer", async () => {
    const result = await withServer(
      (_req, res) => res.writeHead(201, { "content-type": "application/json" }).end('{"id":"evt_123","x":1}'),
      (url) => connect(url).send(outbound()),
    );
    assert.equal(result.externalId, "evt_123");
  });

  test("a retry after a 503 delivers once, under the same idempotency key", async () => {
    await withReceiver({ failFirst: 1 }, async (receiver) => {
      const connector = connect(receiver.url);
      const message = makeMessage();
      const first = await rejectsWith(connector.send(outbound(message)), ConnectorTransientError);
      assert.ok(!(first instanceof ConnectorRateLimitedError));
      assert.equal(first.status, 503);
      assert.equal(receiver.rawCount(), 0);
      await connector.send(outbound(message));
      await connector.send(outbound(message));
      assert.equal(receiver.attempts(), 3);
      assert.equal(receiver.rawCount(), 2);
      assert.equal(receiver.duplicates(), 1);
      assert.deepEqual(receiver.uniqueMessages(), [message]);
    });
  });

  test("429 with Retry-After: 2 is rate limited for 2000 ms", async () => {
    await withReceiver({ failFirst: 1, failStatus: 429, retryAfter: "2" }, async (receiver) => {
      const err = await rejectsWith(connect(receiver.url).send(outbound()), ConnectorRateLimitedError);
      assert.equal(err.retryAfterMs, 2000);
      assert.equal(err.status, 429);
      assert.ok(err instanceof ConnectorTransientError);
    });
  });

  test("429 with an HTTP-date Retry-After waits until that date", async () => {
    const nowMs = Date.parse("2030-01-01T00:00:00Z");
    const now = () => nowMs;
    const retryAfter = new Date(nowMs + 5000).toUTCString();
    await withReceiver({ failFirst: 1, failStatus: 429, retryAfter, now }, async (receiver) => {
      const connector = connect(receiver.url, {}, { fetch: globalThis.fetch, now });
      const err = await rejectsWith(connector.send(outbound()), ConnectorRateLimitedError);
      assert.equal(err.retryAfterMs, 5000);
    });
  });

  test("429 without or with a bad Retry-After waits 1000 ms", async () => {
    for (const retryAfter of [null, "soon", "1.5", "-3", ""]) {
      await withReceiver({ failFirst: 1, failStatus: 429, retryAfter }, async (receiver) => {
        const err = await rejectsWith(connect(receiver.url).send(outbound()), ConnectorRateLimitedError);
        assert.equal(err.retryAfterMs, 1000, String(retryAfter));
      });
    }
  });

  test("408 and 5xx are transient", async () => {
    for (const status of [408, 500, 502, 503, 504]) {
      await withReceiver({ status: () => status }, async (receiver) => {
        const err = await rejectsWith(connect(receiver.url).send(outbound()), ConnectorTransientError);
        assert.ok(!(err instanceof ConnectorRateLimitedError));
        assert.equal(err.status, status);
      });
    }
  });

  test("400, 404 and other 4xx are permanent and keep the connector healthy", async () => {
    for (const status of [400, 404, 409, 422]) {
      await withReceiver({ status: () => status }, async (receiver) => {
        const connector = connect(receiver.url);
        const err = await rejectsWith(connector.send(outbound()), ConnectorPermanentError);
        assert.equal(err.status, status);
        assert.equal(connector.health().healthy, true);
      });
    }
  });

  test("a wrong secret gets 401: permanent, not recorded, and health turns unhealthy", async () => {
    await withReceiver({}, async (receiver) => {
      const connector = connect(receiver.url, { secret: "a-different-secret-0123456789" });
      assert.equal(connector.health().healthy, true);
      const err = await rejectsWith(connector.send(outbound()), ConnectorPermanentError);
      assert.equal(err.status, 401);
      assert.equal(receiver.rejected(), 1);
      assert.equal(receiver.rawCount(), 0);
      const health = connector.health();
      assert.equal(health.healthy, false);
      assert.match(health.detail, /rejected our credentials/);
      assert.match(health.detail, /401/);
    });
  });

  test("a stale clock is rejected by the receiver as a bad signature", async () => {
    await withReceiver({}, async (receiver) => {
      const skewed = { fetch: globalThis.fetch, now: () => Date.now() - 10 * 60 * 1000 };
      await rejectsWith(connect(receiver.url, {}, skewed).send(outbound()), ConnectorPermanentError);
      assert.equal(receiver.rejected(), 1);
      assert.equal(receiver.rawCount(), 0);
    });
  });

  test("403 turns health unhealthy and a later success heals it", async () => {
    await withReceiver({ status: (attempt) => (attempt === 1 ? 403 : 200) }, async (receiver) => {
      const connector = connect(receiver.url);
      await rejectsWith(connector.send(outbound()), ConnectorPermanentError);
      assert.equal(connector.health().healthy, false);
      assert.match(connector.health().detail, /403/);
      await connector.send(outbound());
      assert.equal(connector.health().healthy, true);
    });
  });

  test("a redirect is not followed and is permanent", async () => {
    let followed = false;
    const err = await withServer(
      (req, res) => {
        if (req.url === "/elsewhere") followed = true;
        res.writeHead(307, { location: "/elsewhere" }).end();
      },
      (url) => rejectsWith(connect(url).send(outbound()), ConnectorPermanentError),
    );
    assert.equal(err.status, 307);
    assert.equal(followed, false);
  });
});

describe("webhook connector when the network fails", () => {
  test("a receiver that never answers is transient after timeoutMs", async () => {
    const err = await withServer(
      () => undefined,
      async (url) => {
        const started = performance.now();
        const error = await rejectsWith(
          connect(url, { timeoutMs: 150 }).send(outbound()),
          ConnectorTransientError,
        );
        const elapsed = performance.now() - started;
        assert.ok(elapsed >= 140, `gave up after ${elapsed} ms`);
        assert.ok(elapsed < 2000, `took ${elapsed} ms`);
        return error;
      },
    );
    assert.match(err.message, /timed out after 150 ms/);
    assert.equal(err.status, null);
    assert.ok(err.cause !== undefined);
  });

  test("a body that never ends after a 2xx status still returns within timeoutMs", async () => {
    const message = makeMessage();
    const result = await withServer(
      (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"id":');
      },
      (url) => connect(url, { timeoutMs: 150 }).send(outbound(message)),
    );
    assert.equal(result.externalId, message.id);
  });

  test("a refused connection is transient with a cause", async () => {
    const url = await withServer(
      () => undefined,
      async (u) => u,
    );
    const err = await rejectsWith(connect(url).send(outbound()), ConnectorTransientError);
    assert.match(err.message, /network error/);
    assert.ok(err.cause instanceof Error);
  });

  test("the caller's abort ends the send as transient", async () => {
    await withServer(
      () => undefined,
      async (url) => {
        const controller = new AbortController();
        const sending = connect(url).send(outbound(), controller.signal);
        setTimeout(() => controller.abort(), 50);
        const err = await rejectsWith(sending, ConnectorTransientError);
        assert.match(err.message, /aborted by the caller/);
        const already = await rejectsWith(
          connect(url).send(outbound(), AbortSignal.abort()),
          ConnectorTransientError,
        );
        assert.match(already.message, /aborted by the caller/);
      },
    );
  });
});

describe("webhook error messages", () => {
  let echoUrl = "";
  let stop: () => Promise<void> = async () => undefined;

  before(async () => {
    // Echoes everything a careless receiver might: our body, the secret, and a long tail.
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const status = Number(new URL(req.url ?? "/", "http://x").searchParams.get("status"));
        const echo = `expected secret ${SECRET}; text ${TEXT}; you sent ${Buffer.concat(chunks).toString("utf8")}`;
        res.writeHead(status, { "retry-after": "3" }).end(echo + "x".repeat(5000));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    echoUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  });
  after(() => stop());

  test("never contain the secret, the message text or more than 200 chars of the body", async () => {
    for (const status of [400, 401, 404, 408, 429, 500, 503]) {
      const connector = connect(`${echoUrl}?status=${status}`);
      const err = await rejectsWith(connector.send(outbound()), Error);
      assert.ok(err instanceof ConnectorTransientError || err instanceof ConnectorPermanentError);
      assert.ok(!err.message.includes("x".repeat(201)), "quoted more than 200 chars");
      assert.ok(err.message.length < 400, `message is ${err.message.length} chars`);
      assert.ok(!err.message.includes("tok3n"), "the URL path leaked");
      if (status !== 401) assert.match(err.message, /\[redacted\]/, "the snippet should still be quoted");
    }
  });

  test("redact the text when the receiver quotes it JSON-escaped", async () => {
    const err = await withServer(
      (_req, res) => res.writeHead(422).end(JSON.stringify({ error: "refused", text: TEXT })),
      (url) => rejectsWith(connect(url).send(outbound()), ConnectorPermanentError),
    );
    assert.match(err.message, /refused/);
  });

  test("a short message text is still redacted", async () => {
    const message = makeMessage("hi");
    const err = await withServer(
      (_req, res, body) => res.writeHead(400).end(`rejected: ${body}`),
      (url) => rejectsWith(connect(url).send(outbound(message)), ConnectorPermanentError),
    );
    assert.ok(!err.message.includes('"hi"'), err.message);
  });
});
