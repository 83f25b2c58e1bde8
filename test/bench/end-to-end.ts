// Part 2, the broker end to end: an in-process broker on its own database and stream prefix, a webhook
// receiver as the cloud, and a mixed load (normal and `finance`-labelled conversations) sent through the
// HTTP API at several concurrency levels, then published straight into INGRESS.
// Part 4 (memory) is sampled here too, around these runs.
import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { uuidv7 } from "uuidv7";
import { startBroker, type Broker } from "../../broker/app.ts";
import { encode, type IngressEnvelope } from "../../broker/nats/envelope.ts";
import { partitionOf, topology } from "../../broker/nats/topology.ts";
import { createLogger } from "../../broker/telemetry/log.ts";
import { Message } from "../../policies/model.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../fakes/webhook-receiver.ts";
import { Api } from "../helpers/api.ts";
import { testConfig } from "../helpers/broker.ts";
import { createTestKeys } from "../helpers/keys.ts";
import {
  createTestDatabase,
  deleteStreams,
  natsUrl,
  randomPrefix,
  type TestDatabase,
} from "../helpers/services.ts";
import { cpuShare, cpuSnapshot, type CpuShare } from "./machine.ts";
import { chatText, errorText, percentiles, runLanes, sleep, type Percentiles } from "./util.ts";

export interface EndToEndSettings {
  /** Messages per run. */
  messages: number;
  /** Fresh conversations per run. */
  conversations: number;
  /** Share of the conversations labelled `finance`, in percent. */
  sensitivePercent: number;
  textBytes: number;
  /** One HTTP run per level: concurrent senders. */
  httpConcurrency: number[];
  /** Publishes in flight for the direct INGRESS run; 0 skips it. */
  natsInFlight: number;
  partitions: number;
  poolSize: number;
  /** Messages sent through the HTTP API before the measured runs, not reported; 0 skips. */
  warmupMessages: number;
  /** How long a run may take to be routed, stored and relayed once everything was accepted. */
  drainTimeoutMs: number;
}

export type RunPath = "HTTP API" | "NATS publish to INGRESS";

export interface RunResult {
  path: RunPath;
  concurrency: number;
  sent: number;
  accepted: number;
  acceptFailures: number;
  firstAcceptError: string | null;
  expectedRelayed: number;
  acceptSeconds: number;
  acceptedPerSecond: number;
  routed: number;
  routedPerSecond: number;
  stored: number;
  storedPerSecond: number;
  /** From the first send to the last row stored. */
  allStoredAfterSeconds: number;
  relayed: number;
  relayedPerSecond: number;
  /** Deliveries of a `finance` conversation's message to the receiver: must be 0. */
  sensitiveRelayed: number;
  /** The sender's view: request sent to 202 (HTTP) or publish to ack (NATS). */
  acceptLatency: Percentiles;
  acceptToDecided: Percentiles;
  acceptToStored: Percentiles;
  acceptToWebhook: Percentiles;
  /** Share of the run's wall time the event loop was busy (broker and load generator together). */
  eventLoopUtilization: number;
  /** Process CPU time over wall time (1.0 = one core). */
  cpuCores: number;
  /** Where the machine's CPU went over the run, from /proc. */
  machine: CpuShare;
  wallSeconds: number;
  errors: string[];
}

export interface MemorySample {
  when: string;
  rssBytes: number;
  heapUsedBytes: number;
}

export interface BrokerLogSummary {
  warnings: number;
  errors: number;
  samples: string[];
}

export interface EndToEndOutcome {
  runs: RunResult[];
  memory: MemorySample[];
  brokerLog: BrokerLogSummary;
  errors: string[];
}

const secret = "watershed-bench-webhook-secret";
const sender = "bench-sender";

function sampleMemory(when: string): MemorySample {
  const usage = process.memoryUsage();
  return { when, rssBytes: usage.rss, heapUsedBytes: usage.heapUsed };
}

/** Counts the broker's warnings and errors and keeps a few distinct ones. */
function countingLog(summary: BrokerLogSummary) {
  const seen = new Set<string>();
  return createLogger("warn", {
    write(line: string) {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) >= 50) summary.errors += 1;
        else if ((entry.level ?? 0) >= 40) summary.warnings += 1;
        const text = `${entry.msg ?? ""}${entry.err?.message ? `: ${entry.err.message}` : ""}`;
        if (!seen.has(text) && summary.samples.length < 8) {
          seen.add(text);
          summary.samples.push(text.slice(0, 200));
        }
      } catch {
        summary.warnings += 1;
      }
    },
  });
}

export async function benchEndToEnd(settings: EndToEndSettings): Promise<EndToEndOutcome> {
  const outcome: EndToEndOutcome = {
    runs: [],
    memory: [sampleMemory("before the broker started")],
    brokerLog: { warnings: 0, errors: 0, samples: [] },
    errors: [],
  };
  const prefix = randomPrefix();
  const keysDir = await mkdtemp(join(tmpdir(), "ws-bench-keys-"));
  let db: TestDatabase | undefined;
  let receiver: WebhookReceiver | undefined;
  let broker: Broker | undefined;
  try {
    db = await createTestDatabase();
    const keys = await createTestKeys(keysDir);
    receiver = await startWebhookReceiver({ secret });
    const config = testConfig({
      databaseUrl: db.url,
      prefix,
      jwksFile: keys.jwksFile,
      webhook: { url: receiver.url, secret },
      overrides: {
        // The product's defaults rather than the tests' short ack wait, so a backlog is not redelivered.
        nats: { partitions: settings.partitions, ackWaitMs: 30_000 },
        postgres: { poolSize: settings.poolSize },
      },
    });
    broker = await startBroker(config, { log: countingLog(outcome.brokerLog) });
    outcome.memory.push(sampleMemory("broker started, idle"));
    const api = new Api(broker.url, await keys.token(sender));
    const texts = Array.from({ length: 64 }, () => chatText(settings.textBytes));
    const context: RunContext = { settings, db, receiver, api, texts, prefix };

    if (settings.warmupMessages > 0) {
      // Warm-up: JIT, connection pools, consumers; drained before the first measured run.
      try {
        const warmup = await runLoad(context, "HTTP API", 32, settings.warmupMessages);
        outcome.errors.push(...warmup.errors.map((e) => `warm-up: ${e}`));
      } catch (error) {
        outcome.errors.push(`warm-up: ${errorText(error)}`);
      }
      outcome.memory.push(sampleMemory("after the warm-up"));
    }
    for (const concurrency of settings.httpConcurrency) {
      const label = `HTTP API, ${concurrency} concurrent senders`;
      try {
        outcome.runs.push(await runLoad(context, "HTTP API", concurrency));
      } catch (error) {
        outcome.errors.push(`${label}: ${errorText(error)}`);
      }
      outcome.memory.push(sampleMemory(`after ${label}`));
    }
    if (settings.natsInFlight > 0) {
      const label = `NATS publish to INGRESS, ${settings.natsInFlight} in flight`;
      try {
        outcome.runs.push(await runLoad(context, "NATS publish to INGRESS", settings.natsInFlight));
      } catch (error) {
        outcome.errors.push(`${label}: ${errorText(error)}`);
      }
      outcome.memory.push(sampleMemory(`after ${label}`));
    }
  } catch (error) {
    outcome.errors.push(`setup: ${errorText(error)}`);
  } finally {
    const steps: Array<[string, () => Promise<unknown>]> = [
      ["close the broker", async () => broker?.close()],
      ["close the webhook receiver", async () => receiver?.close()],
      ["delete the NATS streams", () => deleteStreams(prefix)],
      // deleteStreams knows the four broker streams; the broker also keeps a KV bucket (policy).
      ["delete the prefix's other streams and buckets", () => deleteStreamsOfPrefix(prefix)],
      ["drop the database", async () => db?.drop()],
      ["remove the key directory", () => rm(keysDir, { recursive: true, force: true })],
    ];
    for (const [what, step] of steps) {
      await step().catch((error: unknown) => outcome.errors.push(`cleanup, ${what}: ${errorText(error)}`));
    }
  }
  return outcome;
}

interface RunContext {
  settings: EndToEndSettings;
  db: TestDatabase;
  receiver: WebhookReceiver;
  api: Api;
  texts: string[];
  prefix: string;
}

async function runLoad(
  ctx: RunContext,
  path: RunPath,
  concurrency: number,
  messages = ctx.settings.messages,
): Promise<RunResult> {
  const { settings, db, receiver, api, texts } = ctx;
  const errors: string[] = [];

  // Fresh conversations for every run: the first `sensitiveCount` are labelled finance.
  const sensitiveCount = Math.round((settings.conversations * settings.sensitivePercent) / 100);
  const conversations: string[] = [];
  for (let i = 0; i < settings.conversations; i++) {
    conversations.push(
      await api.createConversation({
        title: `bench ${path} ${concurrency} #${i}`,
        labels: i < sensitiveCount ? ["finance"] : [],
      }),
    );
  }
  const sensitive = new Set(conversations.slice(0, sensitiveCount));
  const inRun = new Set(conversations);
  const conversationOf = (index: number) => conversations[index % conversations.length] as string;

  const acceptMs: number[] = [];
  let accepted = 0;
  let expectedRelayed = 0;
  const countAccepted = (index: number, startedAt: number) => {
    acceptMs.push(performance.now() - startedAt);
    accepted += 1;
    if (!sensitive.has(conversationOf(index))) expectedRelayed += 1;
  };

  let send: (index: number) => Promise<void>;
  let closeSender: () => Promise<void>;
  if (path === "HTTP API") {
    // node:http with keep-alive rather than fetch: the sender shares the broker's event loop, and
    // fetch costs it several times more CPU per request.
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    closeSender = async () => agent.destroy();
    const base = new URL(api.baseUrl);
    const authorization = `Bearer ${api.token}`;
    send = async (index) => {
      const body = JSON.stringify({ text: texts[index % texts.length] });
      const startedAt = performance.now();
      const response = await post(agent, base, `/v1/conversations/${conversationOf(index)}/messages`, body, {
        authorization,
        "content-type": "application/json",
      });
      if (response.status !== 202) throw new Error(`HTTP ${response.status}: ${response.body.slice(0, 200)}`);
      countAccepted(index, startedAt);
    };
  } else {
    // What a NATS client of the broker would do: build the canonical message and publish it
    // to the conversation's INGRESS partition, with the message id as the dedup id.
    const nc = await connect({ servers: natsUrl, name: "watershed-bench-publisher" });
    closeSender = () => nc.close();
    const js = jetstream(nc, { timeout: 30_000 });
    const topo = topology(ctx.prefix, settings.partitions);
    // Parsed once through the model so fields with defaults are filled in as the broker would.
    const template = Message.parse({
      id: uuidv7(),
      conversationId: conversationOf(0),
      sender: { id: sender },
      kind: "message",
      text: "",
      replyTo: null,
      targetId: null,
      attachments: [],
      clientMsgId: null,
      acceptedAt: new Date().toISOString(),
    });
    send = async (index) => {
      const conversationId = conversationOf(index);
      const message: Message = {
        ...template,
        id: uuidv7(),
        conversationId,
        text: texts[index % texts.length] as string,
        acceptedAt: new Date().toISOString(),
      };
      const envelope: IngressEnvelope = { message };
      const startedAt = performance.now();
      await js.publish(topo.ingressSubject(partitionOf(conversationId, topo.partitions)), encode(envelope), {
        msgID: message.id,
      });
      countAccepted(index, startedAt);
    };
  }

  const machineStart = cpuSnapshot();
  const eluStart = performance.eventLoopUtilization();
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const startEpochMs = Date.now();
  let acceptSeconds: number;
  let acceptFailures: number;
  let firstAcceptError: string | null;
  try {
    const outcome = await runLanes(messages, concurrency, send);
    acceptSeconds = (performance.now() - wallStart) / 1000;
    acceptFailures = outcome.failures;
    firstAcceptError = outcome.firstError;
  } finally {
    await closeSender();
  }
  if (acceptFailures > 0) errors.push(`${acceptFailures} sends failed; first: ${firstAcceptError}`);

  // Drain: every accepted message routed and stored, every normal one relayed.
  const ids = [...inRun];
  const count = async (table: "messages" | "routing_decisions") =>
    (
      await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} WHERE conversation_id = ANY($1::uuid[])`,
        [ids],
      )
    ).rows[0]?.n ?? 0;
  const relayedKeys = () => {
    const keys = new Set<string>();
    for (const delivery of receiver.deliveries) {
      if (inRun.has(delivery.message.conversationId)) keys.add(delivery.idempotencyKey);
    }
    return keys.size;
  };
  const deadline = performance.now() + settings.drainTimeoutMs;
  let routed: number;
  let stored: number;
  let relayed: number;
  for (;;) {
    [routed, stored] = await Promise.all([count("routing_decisions"), count("messages")]);
    relayed = relayedKeys();
    if (routed >= accepted && stored >= accepted && relayed >= expectedRelayed) break;
    if (performance.now() > deadline) {
      errors.push(
        `not drained within ${settings.drainTimeoutMs / 1000} s of the last accept: ` +
          `${routed} routed, ${stored} stored of ${accepted}; ${relayed} relayed of ${expectedRelayed}`,
      );
      break;
    }
    await sleep(100);
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const elu = performance.eventLoopUtilization(eluStart).utilization;
  const cpu = process.cpuUsage(cpuStart);
  const machine = cpuShare(machineStart, cpuSnapshot());

  // Latencies and completion times from the rows themselves. accepted_at and decided_at come from
  // the broker's clock, stored_at from PostgreSQL's now() at the insert: the same machine clock.
  const storedRows = (
    await db.pool.query<{ latency: number; at: number }>(
      `SELECT extract(epoch FROM stored_at - accepted_at)::float8 * 1000 AS latency,
              extract(epoch FROM stored_at)::float8 * 1000 AS at
       FROM messages WHERE conversation_id = ANY($1::uuid[])`,
      [ids],
    )
  ).rows;
  const decidedRows = (
    await db.pool.query<{ latency: number; at: number }>(
      `SELECT extract(epoch FROM d.decided_at - m.accepted_at)::float8 * 1000 AS latency,
              extract(epoch FROM d.decided_at)::float8 * 1000 AS at
       FROM routing_decisions d JOIN messages m ON m.id = d.message_id
       WHERE d.conversation_id = ANY($1::uuid[])`,
      [ids],
    )
  ).rows;
  const firstDeliveries = new Map<string, { at: number; latency: number }>();
  let sensitiveRelayed = 0;
  for (const delivery of receiver.deliveries) {
    const { message } = delivery;
    if (!inRun.has(message.conversationId)) continue;
    if (sensitive.has(message.conversationId)) sensitiveRelayed += 1;
    if (firstDeliveries.has(delivery.idempotencyKey)) continue;
    firstDeliveries.set(delivery.idempotencyKey, {
      at: delivery.receivedAt,
      latency: delivery.receivedAt - Date.parse(message.acceptedAt),
    });
  }
  if (sensitiveRelayed > 0) errors.push(`${sensitiveRelayed} deliveries of finance-labelled messages`);

  const lastAt = (rows: Iterable<{ at: number }>) => {
    let last = Number.NaN;
    for (const row of rows) if (!(row.at <= last)) last = row.at;
    return last;
  };
  const perSecond = (n: number, lastEpochMs: number) =>
    n > 0 && Number.isFinite(lastEpochMs)
      ? n / Math.max(0.001, (lastEpochMs - startEpochMs) / 1000)
      : Number.NaN;
  const lastStored = lastAt(storedRows);
  return {
    path,
    concurrency,
    sent: messages,
    accepted,
    acceptFailures,
    firstAcceptError,
    expectedRelayed,
    acceptSeconds,
    acceptedPerSecond: accepted / acceptSeconds,
    routed,
    routedPerSecond: perSecond(decidedRows.length, lastAt(decidedRows)),
    stored,
    storedPerSecond: perSecond(storedRows.length, lastStored),
    allStoredAfterSeconds: (lastStored - startEpochMs) / 1000,
    relayed,
    relayedPerSecond: perSecond(firstDeliveries.size, lastAt(firstDeliveries.values())),
    sensitiveRelayed,
    acceptLatency: percentiles(acceptMs),
    acceptToDecided: percentiles(decidedRows.map((r) => r.latency)),
    acceptToStored: percentiles(storedRows.map((r) => r.latency)),
    acceptToWebhook: percentiles([...firstDeliveries.values()].map((d) => d.latency)),
    eventLoopUtilization: elu,
    cpuCores: (cpu.user + cpu.system) / 1e6 / wallSeconds,
    machine,
    wallSeconds,
    errors,
  };
}

function post(
  agent: http.Agent,
  base: URL,
  path: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        path,
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** Deletes every stream named after the prefix: `<PREFIX>_*`, and KV buckets and object stores of it. */
async function deleteStreamsOfPrefix(prefix: string): Promise<void> {
  const upper = prefix.toUpperCase();
  const ours = (name: string) =>
    name.startsWith(`${upper}_`) || name.startsWith(`KV_${upper}_`) || name.startsWith(`OBJ_${upper}_`);
  const nc = await connect({ servers: natsUrl, name: "watershed-bench-cleanup" });
  try {
    const jsm = await jetstreamManager(nc);
    const names: string[] = [];
    for await (const info of jsm.streams.list()) if (ours(info.config.name)) names.push(info.config.name);
    for (const name of names) await jsm.streams.delete(name);
  } finally {
    await nc.close();
  }
}
