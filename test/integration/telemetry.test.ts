// One trace follows a message from the HTTP request through routing to the connector, carried in
// NATS headers; and no span attribute or log line holds the message text or the token.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { startBroker, type Broker } from "../../broker/app.ts";
import { createLogger } from "../../broker/telemetry/log.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import { createTestDatabase, deleteStreams, randomPrefix, type TestDatabase } from "../helpers/services.ts";

const secret = "telemetry-test-webhook-secret";
const exporter = new InMemorySpanExporter();
let db: TestDatabase;
let receiver: WebhookReceiver;
let broker: Broker;
let api: Api;
let token: string;
let logText = "";
const prefix = randomPrefix();

before(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  db = await createTestDatabase();
  const keys = await createTestKeys(await mkdtemp(join(tmpdir(), "ws-keys-")));
  receiver = await startWebhookReceiver({ secret });
  const logSink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logText += chunk.toString();
      done();
    },
  });
  const config = testConfig({
    databaseUrl: db.url,
    prefix,
    jwksFile: keys.jwksFile,
    webhook: { url: receiver.url, secret },
  });
  broker = await startBroker(config, { log: createLogger("debug", logSink) });
  token = await keys.token("alice");
  api = new Api(broker.url, token);
});

after(async () => {
  await broker?.close();
  await receiver?.close();
  await deleteStreams(prefix);
  await db?.drop();
  trace.disable();
  propagation.disable();
  context.disable();
});

test("accept, route and relay spans share one trace; no text or token in spans or logs", async () => {
  const text = "the quarterly numbers look fine 7f3c9a";
  const conversation = await api.createConversation({ title: "traced" });
  const id = await api.post(conversation, { text });
  await receiver.waitFor((r) => r.uniqueMessages().some((m) => m.id === id), 15_000);
  // The relay span ends after the delivery returned; give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 300));

  const spans = exporter.getFinishedSpans().filter((s) => s.attributes["watershed.message_id"] === id);
  const byName = new Map(spans.map((s) => [s.name, s]));
  for (const name of ["watershed.accept", "watershed.route", "watershed.relay"]) {
    assert.ok(byName.has(name), `span ${name} recorded (got ${[...byName.keys()].join(", ")})`);
  }
  const traceIds = new Set(spans.map((s) => s.spanContext().traceId));
  assert.equal(traceIds.size, 1, "one trace from accept to relay");
  const accept = byName.get("watershed.accept");
  const route = byName.get("watershed.route");
  assert.equal(route?.parentSpanContext?.spanId, accept?.spanContext().spanId, "route is a child of accept");
  assert.equal(route?.attributes["watershed.zone"], "cloud");

  const everything = JSON.stringify(exporter.getFinishedSpans().map((s) => s.attributes)) + logText;
  assert.ok(logText.includes(id), "the logs mention the message id");
  assert.ok(!everything.includes("7f3c9a"), "message text is never in spans or logs");
  assert.ok(!everything.includes(token.split(".")[2] ?? token), "the token is never in spans or logs");
});
