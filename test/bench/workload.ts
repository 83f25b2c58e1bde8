// One measured run of the mixed workload against a deployment: fresh conversations (a share of them
// labelled `finance`), 1 KiB messages spread round-robin over them, sent through the HTTP API or
// published straight to INGRESS at an offered rate, then drained: everything accepted routed and
// stored, every normal message posted to the fake Slack. Rates and latencies come from the rows in
// PostgreSQL and the fake's call log, CPU from /proc.
import http from "node:http";
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { natsUrl } from "../helpers/services.ts";
import { cloudArrivals, decisionCount, progress, storedTimes } from "./arrivals.ts";
import { benchSender, type BenchConversation, type Deployment } from "./deployment.ts";
import { ingressPublisher } from "./ingress.ts";
import { offerLoad } from "./load.ts";
import { cpuShare, cpuSnapshot, type CpuShare } from "./machine.ts";
import { chatText, percentiles, sleep, type Percentiles } from "./util.ts";

export const RunPath = {
  http: "HTTP API",
  nats: "NATS publish to INGRESS",
} as const;
export type RunPath = (typeof RunPath)[keyof typeof RunPath];

export interface WorkloadSettings {
  /** Fresh conversations per run. */
  conversations: number;
  /** Share of them labelled `finance`, in percent. */
  sensitivePercent: number;
  /** Size of every message's text, in bytes. */
  textBytes: number;
  /** Longest wait for a run to be routed, stored and relayed after its last accept, in ms. */
  drainTimeoutMs: number;
}

export interface RunSpec {
  path: RunPath;
  /** Offered messages per second; null: as fast as accepted with `maxInFlight` in flight. */
  ratePerSecond: number | null;
  messages: number;
  maxInFlight: number;
  /** Names the run's conversations and channels. */
  tag: string;
}

export interface RunResult {
  spec: RunSpec;
  brokers: number;
  sent: number;
  accepted: number;
  failures: number;
  firstError: string | null;
  /** Sends more than 10 ms behind their schedule. */
  late: number;
  /** Normal messages accepted: what the cloud should get. */
  expectedRelayed: number;
  /** First send to last answer, in seconds. */
  offerSeconds: number;
  acceptedPerSecond: number;
  routed: number;
  routedPerSecond: number;
  stored: number;
  storedPerSecond: number;
  /** Normal messages that reached the fake Slack. */
  relayed: number;
  relayedPerSecond: number;
  /** Posts of a `finance` conversation's messages in the fake Slack: must be 0. */
  sensitiveInCloud: number;
  senderWait: Percentiles;
  acceptToDecided: Percentiles;
  acceptToStored: Percentiles;
  acceptToCloud: Percentiles;
  /** First send until drained (or the drain timeout), in seconds. */
  wallSeconds: number;
  cpu: CpuShare;
  drained: boolean;
  errors: string[];
}

/** Sends one run of the workload and waits for it to drain; never throws for what it measures. */
export async function runWorkload(
  deployment: Deployment,
  workload: WorkloadSettings,
  spec: RunSpec,
): Promise<RunResult> {
  const errors: string[] = [];
  const conversations = await deployment.createConversations(
    workload.conversations,
    workload.sensitivePercent,
    spec.tag,
  );
  const texts = Array.from({ length: 64 }, () => chatText(workload.textBytes));
  const conversationOf = (index: number) => conversations[index % conversations.length] as BenchConversation;
  let expectedRelayed = 0;
  const sender = await openSender(deployment, spec.path, spec.maxInFlight);

  const brokerPids = deployment.brokers.flatMap((b) => (b.process.pid === undefined ? [] : [b.process.pid]));
  const machineStart = cpuSnapshot(brokerPids);
  const startEpochMs = Date.now();
  const wallStart = performance.now();
  const offer = await offerLoad(
    { ratePerSecond: spec.ratePerSecond, messages: spec.messages, maxInFlight: spec.maxInFlight },
    async (index) => {
      const conversation = conversationOf(index);
      await sender.send(index, conversation.id, texts[index % texts.length] as string);
      if (!conversation.sensitive) expectedRelayed += 1;
    },
  ).finally(() => sender.close());
  if (offer.failures > 0) errors.push(`${offer.failures} sends failed; first: ${offer.firstError}`);

  // Drain, judged from PostgreSQL (cheap to poll): stored, decided, and recorded as sent to Slack.
  const ids = conversations.map((c) => c.id);
  const deadline = performance.now() + workload.drainTimeoutMs;
  let drained = false;
  for (;;) {
    const done = await progress(deployment.db, ids);
    if (done.stored >= offer.accepted && done.relayed >= expectedRelayed) {
      drained = true;
      break;
    }
    if (performance.now() > deadline) {
      errors.push(
        `not drained ${workload.drainTimeoutMs / 1000} s after the last accept: ` +
          `${await decisionCount(deployment.db, ids)} routed, ` +
          `${done.stored} stored of ${offer.accepted}; ${done.relayed} relayed of ${expectedRelayed}`,
      );
      break;
    }
    await sleep(200);
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  const cpu = cpuShare(machineStart, cpuSnapshot(brokerPids));

  const times = await storedTimes(deployment.db, ids);
  const normalChannels = conversations.filter((c) => !c.sensitive).map((c) => c.channel);
  const sensitiveChannels = conversations.filter((c) => c.sensitive).map((c) => c.channel);
  const cloud = cloudArrivals(deployment.slack, normalChannels);
  const leaked = cloudArrivals(deployment.slack, sensitiveChannels);
  if (cloud.unmatchedChannels > 0) {
    errors.push(`${cloud.unmatchedChannels} channels whose chat.postMessage calls and posts did not pair up`);
  }
  if (leaked.arrivedAt.size > 0)
    errors.push(`${leaked.arrivedAt.size} messages of finance conversations in Slack`);

  const latencies = (to: Map<string, number>) => {
    const values: number[] = [];
    for (const [id, at] of to) {
      const accepted = times.acceptedAt.get(id);
      if (accepted !== undefined) values.push(at - accepted);
    }
    return percentiles(values);
  };
  const lastOf = (values: Iterable<number>) => {
    let last = Number.NaN;
    for (const value of values) if (!(value <= last)) last = value;
    return last;
  };
  const perSecond = (count: number, lastEpochMs: number) =>
    count > 0 && Number.isFinite(lastEpochMs)
      ? count / Math.max(0.001, (lastEpochMs - startEpochMs) / 1000)
      : 0;
  return {
    spec,
    brokers: deployment.brokers.length,
    sent: offer.sent,
    accepted: offer.accepted,
    failures: offer.failures,
    firstError: offer.firstError,
    late: offer.late,
    expectedRelayed,
    offerSeconds: offer.seconds,
    acceptedPerSecond: offer.accepted / offer.seconds,
    routed: times.decidedAt.size,
    routedPerSecond: perSecond(times.decidedAt.size, lastOf(times.decidedAt.values())),
    stored: times.storedAt.size,
    storedPerSecond: perSecond(times.storedAt.size, lastOf(times.storedAt.values())),
    relayed: cloud.arrivedAt.size,
    relayedPerSecond: perSecond(cloud.arrivedAt.size, lastOf(cloud.arrivedAt.values())),
    sensitiveInCloud: leaked.arrivedAt.size,
    senderWait: percentiles(offer.waitMs),
    acceptToDecided: latencies(times.decidedAt),
    acceptToStored: latencies(times.storedAt),
    acceptToCloud: latencies(cloud.arrivedAt),
    wallSeconds,
    cpu,
    drained,
    errors,
  };
}

interface Sender {
  send(index: number, conversationId: string, text: string): Promise<void>;
  close(): Promise<void>;
}

async function openSender(deployment: Deployment, path: RunPath, maxInFlight: number): Promise<Sender> {
  if (path === RunPath.nats) {
    const nc = await connect({ servers: natsUrl, name: "watershed-bench-publisher" });
    const publisher = ingressPublisher(
      jetstream(nc, { timeout: 30_000 }),
      deployment.prefix,
      deployment.partitions,
      benchSender,
    );
    return {
      send: async (_index, conversationId, text) => void (await publisher.publish(conversationId, text)),
      close: () => nc.close(),
    };
  }
  // node:http with keep-alive rather than fetch: cheaper per request for the bench process, which
  // also runs the fake Slack. Requests go round-robin over the brokers.
  const bases = deployment.brokers.map((b) => new URL(b.url));
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.ceil(maxInFlight / bases.length) });
  const authorization = `Bearer ${deployment.token}`;
  return {
    async send(index, conversationId, text) {
      const base = bases[index % bases.length] as URL;
      const body = JSON.stringify({ text });
      const answer = await post(
        agent,
        base,
        `/v1/conversations/${conversationId}/messages`,
        body,
        authorization,
      );
      if (answer.status !== 202) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
    },
    close: async () => agent.destroy(),
  };
}

function post(
  agent: http.Agent,
  base: URL,
  path: string,
  body: string,
  authorization: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        path,
        method: "POST",
        headers: {
          authorization,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
        },
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
