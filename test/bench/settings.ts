// What sizes `npm run bench`: environment variables with defaults meant for a whole run of about a
// quarter of an hour on a two-core machine. Smaller values make a quick run while developing.
import { customDetectorsForBench } from "./classify.ts";
import { envInt, envIntList } from "./util.ts";

/** The parts of the report, by number; BENCH_PARTS picks some of them. */
export const Part = {
  raw: 1,
  endToEnd: 2,
  classify: 3,
  memory: 4,
  scale: 5,
  upload: 6,
  classifyCli: 7,
  profile: 8,
} as const;
export type Part = (typeof Part)[keyof typeof Part];

const allParts = Object.values(Part);

function readSettings() {
  const bytes = envInt("BENCH_BYTES", 1024);
  const workload = {
    conversations: envInt("BENCH_CONVERSATIONS", 100),
    sensitivePercent: envInt("BENCH_SENSITIVE_PERCENT", 30, 0),
    textBytes: bytes,
    drainTimeoutMs: envInt("BENCH_DRAIN_TIMEOUT_S", 180) * 1000,
  };
  const partitions = envInt("BENCH_PARTITIONS", 16);
  const poolSize = envInt("BENCH_POOL_SIZE", 20);
  const httpInFlight = envInt("BENCH_HTTP_INFLIGHT", 64);
  const natsInFlight = envInt("BENCH_NATS_INFLIGHT", 256);
  return {
    parts: new Set(
      envIntList("BENCH_PARTS", allParts).filter((p): p is Part => allParts.includes(p as Part)),
    ),
    raw: {
      messages: envInt("BENCH_RAW_MESSAGES", 20_000),
      inFlight: envInt("BENCH_RAW_INFLIGHT", 256),
      rows: envInt("BENCH_RAW_ROWS", 50_000),
      batch: envInt("BENCH_RAW_BATCH", 500),
      bytes,
    },
    e2e: {
      workload,
      partitions,
      poolSize,
      rates: envIntList("BENCH_RATES", [250, 500, 1000, 2000]).sort((a, b) => a - b),
      runSeconds: envInt("BENCH_RUN_SECONDS", 4),
      maxMessages: envInt("BENCH_MAX_MESSAGES", 4000),
      httpInFlight,
      natsInFlight,
      warmupMessages: envInt("BENCH_WARMUP_MESSAGES", 300, 0),
      targetRate: 1000,
      relayCostMessages: envInt("BENCH_RELAY_COST_MESSAGES", 2000, 0),
    },
    classify: {
      durationMs: envInt("BENCH_CLASSIFY_MS", 1500),
      shortBytes: 60,
      largeBytes: 64 * 1024,
      customDetectors: envIntList("BENCH_CUSTOM_DETECTORS", [0, 1, 5, 20], 0),
    },
    memory: {
      messages: envInt("BENCH_MEMORY_MESSAGES", 1_000_000),
      maxPublishMs: envInt("BENCH_MEMORY_MAX_MINUTES", 6, 0) * 60_000,
      conversations: workload.conversations,
      sensitivePercent: workload.sensitivePercent,
      textBytes: bytes,
      partitions,
      poolSize,
      maxBacklog: envInt("BENCH_MEMORY_BACKLOG", 5000),
      inFlight: natsInFlight,
      sampleMs: 1000,
      drainTimeoutMs: workload.drainTimeoutMs,
    },
    scale: {
      workload,
      partitions,
      poolSize,
      brokerCounts: [1, 2],
      messages: envInt("BENCH_SCALE_MESSAGES", 3000),
      httpInFlight,
      natsInFlight,
      warmupMessages: envInt("BENCH_WARMUP_MESSAGES", 300, 0),
    },
    upload: { sizeMiB: envInt("BENCH_UPLOAD_MIB", 512, 0) },
    cli: {
      lines: envInt("BENCH_CLASSIFY_LINES", 1_000_000, 0),
      conversations: envInt("BENCH_CLASSIFY_CONVERSATIONS", 1000),
      cardPercent: 30,
      stallTimeoutMs: 30_000,
    },
    profile: {
      workload,
      partitions,
      poolSize,
      messages: envInt("BENCH_PROFILE_MESSAGES", 3000),
      httpInFlight,
      keepDir: process.env.BENCH_PROFILE_DIR || null,
    },
  };
}

export const settings = readSettings();
export type Settings = typeof settings;

/** The environment variables that size the run, with the values used and what they mean. */
export function knobs(s: Settings): Array<[string, string, string]> {
  return [
    ["BENCH_PARTS", [...s.parts].sort().join(",") || "none", "parts of this report to run"],
    ["BENCH_BYTES", String(s.raw.bytes), "message / row / text size in bytes"],
    ["BENCH_RAW_MESSAGES", String(s.raw.messages), "JetStream publishes per raw measurement"],
    ["BENCH_RAW_INFLIGHT", String(s.raw.inFlight), "raw JetStream publishes in flight"],
    ["BENCH_RAW_ROWS", String(s.raw.rows), "rows inserted in the raw PostgreSQL measurement"],
    ["BENCH_RAW_BATCH", String(s.raw.batch), "rows per INSERT"],
    [
      "BENCH_CONVERSATIONS",
      String(s.e2e.workload.conversations),
      "fresh conversations per run, each bound to a Slack channel",
    ],
    ["BENCH_SENSITIVE_PERCENT", String(s.e2e.workload.sensitivePercent), "share of them labelled `finance`"],
    ["BENCH_PARTITIONS", String(s.e2e.partitions), "broker partitions (`nats.partitions`)"],
    ["BENCH_POOL_SIZE", String(s.e2e.poolSize), "each broker's PostgreSQL pool (`postgres.poolSize`)"],
    ["BENCH_RATES", s.e2e.rates.join(","), "offered rates of part 2, messages/s"],
    ["BENCH_RUN_SECONDS", String(s.e2e.runSeconds), "length of each offered-rate run, s"],
    ["BENCH_MAX_MESSAGES", String(s.e2e.maxMessages), "messages of each open-loop maximum run in part 2"],
    [
      "BENCH_RELAY_COST_MESSAGES",
      String(s.e2e.relayCostMessages),
      "messages of each run pricing the relay in part 2 (0 skips)",
    ],
    ["BENCH_HTTP_INFLIGHT", String(s.e2e.httpInFlight), "HTTP requests in flight at most"],
    ["BENCH_NATS_INFLIGHT", String(s.e2e.natsInFlight), "INGRESS publishes in flight at most"],
    [
      "BENCH_WARMUP_MESSAGES",
      String(s.e2e.warmupMessages),
      "unmeasured HTTP messages after a deployment starts",
    ],
    [
      "BENCH_DRAIN_TIMEOUT_S",
      String(s.e2e.workload.drainTimeoutMs / 1000),
      "longest wait for a run to drain, s",
    ],
    ["BENCH_CLASSIFY_MS", String(s.classify.durationMs), "time per classification case, ms"],
    [
      "BENCH_CUSTOM_DETECTORS",
      s.classify.customDetectors.join(","),
      `custom detectors added to the default policy, one case each (at most ${customDetectorsForBench.length})`,
    ],
    ["BENCH_MEMORY_MESSAGES", String(s.memory.messages), "messages of the memory run (part 4)"],
    [
      "BENCH_MEMORY_MAX_MINUTES",
      String(s.memory.maxPublishMs / 60_000),
      "publishing in part 4 stops after this long, whatever the count (0: no limit)",
    ],
    ["BENCH_MEMORY_BACKLOG", String(s.memory.maxBacklog), "messages waiting in INGRESS at most during it"],
    ["BENCH_SCALE_MESSAGES", String(s.scale.messages), "messages per run of part 5"],
    [
      "BENCH_UPLOAD_MIB",
      String(s.upload.sizeMiB),
      "size of the file uploaded through a broker process, MiB (0 skips)",
    ],
    [
      "BENCH_CLASSIFY_LINES",
      String(s.cli.lines),
      "JSON lines streamed through `watershed classify` (0 skips)",
    ],
    ["BENCH_CLASSIFY_CONVERSATIONS", String(s.cli.conversations), "conversation ids in those lines"],
    ["BENCH_PROFILE_MESSAGES", String(s.profile.messages), "messages sent to the profiled broker (part 8)"],
  ];
}
