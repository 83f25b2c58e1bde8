// Part 4, memory over a long run: one broker child process, the mixed workload published straight to
// INGRESS (no HTTP: the fastest way in), the backlog waiting in INGRESS kept under a bound so the run
// measures a broker working steadily rather than a stream filling up. The broker's resident memory
// (VmRSS, VmHWM) is read from /proc every second, with how far the messages got, from the streams.
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { topology } from "../../broker/nats/topology.ts";
import { memoryOf } from "../helpers/upload-memory.ts";
import { natsUrl } from "../helpers/services.ts";
import { progress } from "./arrivals.ts";
import { benchSender, startDeployment, type BenchConversation, type Deployment } from "./deployment.ts";
import { problemLines } from "./end-to-end.ts";
import { ingressPublisher } from "./ingress.ts";
import { chatText, errorText, sleep } from "./util.ts";

export interface MemorySettings {
  messages: number;
  /** Publishing stops after this long even if fewer messages went out, in ms; 0 for no limit. */
  maxPublishMs: number;
  conversations: number;
  sensitivePercent: number;
  textBytes: number;
  partitions: number;
  poolSize: number;
  /** Messages waiting in INGRESS at most; publishing pauses above. */
  maxBacklog: number;
  /** Publishes in flight at most. */
  inFlight: number;
  /** Time between two samples, in ms. */
  sampleMs: number;
  /** Longest wait for the last messages to be stored and relayed, in ms. */
  drainTimeoutMs: number;
}

export interface MemorySample {
  /** Since the first publish. */
  seconds: number;
  published: number;
  /** Messages the store worker acknowledged (written to PostgreSQL). */
  stored: number;
  /** Messages the relay acknowledged (posted to Slack, or withheld). */
  relayed: number;
  rssBytes: number;
  /** The kernel's high-water mark of the broker's resident memory (VmHWM) so far. */
  peakBytes: number;
}

export interface MemoryOutcome {
  /** Messages asked for. */
  asked: number;
  /** Messages published: fewer than asked when the time limit stopped publishing. */
  messages: number;
  stoppedByTimeLimit: boolean;
  /** The broker's resident memory when started and idle, before the first publish. */
  idleRssBytes: number;
  samples: MemorySample[];
  /** Rows in PostgreSQL and posts recorded as sent, counted at the end. */
  storedRows: number;
  relayedRows: number;
  expectedRelayed: number;
  seconds: number;
  drained: boolean;
  brokerLog: string[];
  errors: string[];
}

/** Where the run stands, from the streams: O(1) questions, unlike counting rows in PostgreSQL. */
async function streamProgress(jsm: JetStreamManager, deployment: Deployment) {
  const topo = topology(deployment.prefix, deployment.partitions);
  const [ingress, store, relay] = await Promise.all([
    jsm.streams.info(topo.streams.ingress),
    jsm.consumers.info(topo.streams.onprem, topo.storeConsumer),
    jsm.streams.info(topo.streams.relay),
  ]);
  return {
    /** Accepted, not yet routed. */
    backlog: ingress.state.messages,
    stored: store.ack_floor.stream_seq,
    // A work queue: whatever left it was handled by the relay.
    relayed: relay.state.last_seq - relay.state.messages,
  };
}

export async function benchMemory(
  settings: MemorySettings,
  log: (line: string) => void,
): Promise<MemoryOutcome> {
  const outcome: MemoryOutcome = {
    asked: settings.messages,
    messages: 0,
    stoppedByTimeLimit: false,
    idleRssBytes: Number.NaN,
    samples: [],
    storedRows: 0,
    relayedRows: 0,
    expectedRelayed: 0,
    seconds: 0,
    drained: false,
    brokerLog: [],
    errors: [],
  };
  let deployment: Deployment | undefined;
  const nc = await connect({ servers: natsUrl, name: "watershed-bench-memory" });
  try {
    deployment = await startDeployment({
      brokers: 1,
      partitions: settings.partitions,
      poolSize: settings.poolSize,
    });
    const pid = deployment.brokers[0]?.process.pid;
    if (pid === undefined) throw new Error("the broker process has no pid");
    const conversations = await deployment.createConversations(
      settings.conversations,
      settings.sensitivePercent,
      "memory",
    );
    const jsm = await jetstreamManager(nc);
    const publisher = ingressPublisher(
      jetstream(nc, { timeout: 30_000 }),
      deployment.prefix,
      settings.partitions,
      benchSender,
    );
    const texts = Array.from({ length: 64 }, () => chatText(settings.textBytes));
    outcome.idleRssBytes = (await memoryOf(pid)).now;

    const started = performance.now();
    let published = 0;
    let backlog = 0;
    let failures = 0;
    let firstError: string | null = null;
    let sampling = true;
    const sample = async () => {
      const [memory, stand] = await Promise.all([
        memoryOf(pid),
        streamProgress(jsm, deployment as Deployment),
      ]);
      backlog = stand.backlog;
      outcome.samples.push({
        seconds: (performance.now() - started) / 1000,
        published,
        stored: stand.stored,
        relayed: stand.relayed,
        rssBytes: memory.now,
        peakBytes: memory.peak,
      });
    };
    const sampler = (async () => {
      let lastLog = 0;
      while (sampling) {
        await sample().catch((error: unknown) => {
          firstError ??= `sampling: ${errorText(error)}`;
        });
        const last = outcome.samples[outcome.samples.length - 1];
        if (last && last.seconds - lastLog >= 30) {
          lastLog = last.seconds;
          log(
            `  ${Math.round(last.seconds)} s: ${last.stored.toLocaleString("en-US")} stored, ` +
              `RSS ${Math.round(last.rssBytes / 2 ** 20)} MiB`,
          );
        }
        await sleep(settings.sampleMs);
      }
    })();

    let inFlight = 0;
    const conversationOf = (index: number) =>
      conversations[index % conversations.length] as BenchConversation;
    while (published < settings.messages) {
      if (settings.maxPublishMs > 0 && performance.now() - started > settings.maxPublishMs) {
        outcome.stoppedByTimeLimit = true;
        log(`  time limit: publishing stopped after ${published.toLocaleString("en-US")} messages`);
        break;
      }
      if (inFlight >= settings.inFlight || backlog >= settings.maxBacklog) {
        await sleep(5);
        continue;
      }
      const index = published++;
      backlog += 1;
      inFlight += 1;
      const conversation = conversationOf(index);
      if (!conversation.sensitive) outcome.expectedRelayed += 1;
      publisher
        .publish(conversation.id, texts[index % texts.length] as string)
        .catch((error: unknown) => {
          failures += 1;
          firstError ??= errorText(error);
        })
        .finally(() => {
          inFlight -= 1;
        });
      if (index % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    while (inFlight > 0) await sleep(5);
    outcome.messages = published;

    // Drain: everything stored and relayed, judged from the streams; then the rows, counted once.
    const deadline = performance.now() + settings.drainTimeoutMs;
    for (;;) {
      const stand = await streamProgress(jsm, deployment);
      if (stand.stored >= published - failures && stand.relayed >= outcome.expectedRelayed) {
        outcome.drained = true;
        break;
      }
      if (performance.now() > deadline) {
        outcome.errors.push(`not drained ${settings.drainTimeoutMs / 1000} s after the last publish`);
        break;
      }
      await sleep(250);
    }
    sampling = false;
    await sampler;
    await sample();
    outcome.seconds = (performance.now() - started) / 1000;
    if (failures > 0) outcome.errors.push(`${failures} publishes failed; first: ${firstError}`);
    else if (firstError !== null) outcome.errors.push(firstError);
    const rows = await progress(
      deployment.db,
      conversations.map((c) => c.id),
    );
    outcome.storedRows = rows.stored;
    outcome.relayedRows = rows.relayed;
  } catch (error) {
    outcome.errors.push(errorText(error));
  } finally {
    outcome.brokerLog = deployment ? problemLines(deployment) : [];
    outcome.errors.push(...((await deployment?.close()) ?? []));
    await nc.close();
  }
  return outcome;
}

/** Least-squares slope of RSS against messages stored, in bytes per message. */
export function rssSlope(samples: readonly MemorySample[]): number {
  const n = samples.length;
  if (n < 2) return Number.NaN;
  const mx = samples.reduce((sum, s) => sum + s.stored, 0) / n;
  const my = samples.reduce((sum, s) => sum + s.rssBytes, 0) / n;
  const sxx = samples.reduce((sum, s) => sum + (s.stored - mx) ** 2, 0);
  const sxy = samples.reduce((sum, s) => sum + (s.stored - mx) * (s.rssBytes - my), 0);
  return sxx === 0 ? Number.NaN : sxy / sxx;
}
