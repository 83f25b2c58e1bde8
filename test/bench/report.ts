// docs/benchmarks.md from one run's figures: the machine and the run, a summary derived from the
// figures, then one section per part. Every sentence that states a result is computed from the run.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { ProfileSummary } from "./cpu-profile.ts";
import type { EndToEndOutcome } from "./end-to-end.ts";
import { keptUp } from "./end-to-end.ts";
import type { UploadOutcome } from "./files.ts";
import { rssSlope, type MemoryOutcome, type MemorySample } from "./memory.ts";
import type { ProfileOutcome } from "./profile.ts";
import type { JetStreamResult, PostgresResult } from "./raw.ts";
import {
  classifyCliSection,
  classifySection,
  classifySummary,
  type ClassifyReport,
} from "./report-classify.ts";
import { uploadSection, uploadSummary } from "./report-files.ts";
import type { ScaleOutcome } from "./scale.ts";
import { knobs, Part, type Settings } from "./settings.ts";
import { L, markdownTable, mib, MiB, ms, num, percent, R, rate, type Percentiles } from "./util.ts";
import { RunPath, type RunResult } from "./workload.ts";

export interface PartTiming {
  part: Part;
  title: string;
  seconds: number;
  /** 1-, 5- and 15-minute load averages when the part started. */
  loadAtStart: number[];
}

export interface Report extends ClassifyReport {
  startedAt: Date;
  loadAtStart: number[];
  loadAtEnd: number[];
  seconds: number;
  parts: PartTiming[];
  natsVersion: string;
  postgresVersion: string;
  jetstream: JetStreamResult[] | null;
  postgres: PostgresResult | null;
  e2e: EndToEndOutcome | null;
  memory: MemoryOutcome | null;
  scale: ScaleOutcome | null;
  upload: UploadOutcome | null;
  profile: ProfileOutcome | null;
  errors: string[];
}

/** The broker files changed for speed, a few words for the summary, and what the change was (part 8). */
const perfFixes = [
  {
    file: "broker/db/decision-chain.ts",
    short: "the router's chain-head query",
    what:
      "`selectChainHeads`, read once per batch of routing decisions, asked for the last link of each " +
      "partition with `SELECT DISTINCT ON (chain_partition) ... WHERE chain_partition = ANY($1) ORDER BY " +
      "chain_partition, chain_seq DESC`. PostgreSQL answers that by reading and sorting every decision of " +
      "those partitions, so each batch cost more than the last, without bound. It now takes one backward " +
      "step on the `(chain_partition, chain_seq)` index per partition (`unnest($1) CROSS JOIN LATERAL " +
      "(... ORDER BY chain_seq DESC LIMIT 1)`); same rows, same transaction shape.",
  },
  {
    file: "broker/relay/worker.ts, broker/db/batcher.ts",
    short: "the relay's statements batched",
    what:
      "the relay read each message's relay state and wrote its cloud id in a statement of its own, a " +
      "round trip (and for the write a commit) per relayed message. Both now go through a batcher: the " +
      "calls the partitions make while one statement is in PostgreSQL share the next one " +
      "(`selectRelayStates`, `insertExternalIds`); each handler still waits for its own answer before it " +
      "acknowledges.",
  },
  {
    file: "broker/ingress/accept.ts",
    short: "intake's membership checks batched",
    what:
      "every accepted message checked its sender's membership in a query of its own; the requests in " +
      "flight now share one statement through the same batcher (`selectMemberships`).",
  },
  {
    file: "broker/nats/pull.ts",
    short: "one inbox per partition loop",
    what:
      "the router's and the relay's partitions pulled each message with the client's `consumer.fetch()`, " +
      "which subscribes to a new inbox, starts a heartbeat monitor and unsubscribes for every pull, so a " +
      "SUB and an UNSUB per message on both ends. Each partition loop now keeps one inbox subscription " +
      "and sends its pulls (one message each, as before) to `<inbox>.<n>`.",
  },
  {
    file: "broker/db/relay-state.ts, broker/db/external-ids.ts",
    short: "key probes for the relay's lookups",
    what:
      "found by part 4: the relay slowed from ≈ 200 to ≈ 50 messages/s as it relayed. `selectRelayStates` " +
      "looked up `external_ids` by `message_id` and `kind = 'message'`, and on a table not analyzed since it " +
      "was empty PostgreSQL ANDed the primary key with the partial index `external_ids_conversation` " +
      "(`WHERE kind = 'message'`, every relayed message), reading all of it per lookup. `kind` is now a " +
      "FILTER of the aggregate, so the lookup is a primary-key probe; the lookups by cloud id read " +
      "`external_ids_reverse` first. `broker/db/lookup-plans.test.ts` checks the plans on such a table.",
  },
];

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => /^model name\s*:/.test(l));
    return line?.split(":").slice(1).join(":").trim() || "unknown";
  } catch {
    return "unknown";
  }
}

function coreCount(): string {
  try {
    return execFileSync("nproc", { encoding: "utf8" }).trim();
  } catch {
    return `${availableParallelism()} (os.availableParallelism; nproc failed)`;
  }
}

/** The raw limit in messages per second: the slower of plain JetStream publishes and PostgreSQL rows. */
export function rawLimit(report: Report): { perSecond: number; which: string } | null {
  const js = report.jetstream?.[0];
  const pg = report.postgres;
  if (!js || !pg) return null;
  return js.msgsPerSecond <= pg.rowsPerSecond
    ? { perSecond: js.msgsPerSecond, which: "JetStream publish" }
    : { perSecond: pg.rowsPerSecond, which: "PostgreSQL insert" };
}

const loadText = (load: readonly number[]) => load.map((l) => num(l, 2)).join(", ");

function offered(run: RunResult): string {
  return run.spec.ratePerSecond === null
    ? `max (${run.spec.maxInFlight} in flight)`
    : `${num(run.spec.ratePerSecond)}/s`;
}

function latencyCells(p: Percentiles): string[] {
  return [num(p.count), ms(p.p50), ms(p.p99), ms(p.p999), ms(p.max)];
}

/** The run at the target rate (1,000 messages/s offered) for a path. */
function targetRun(runs: readonly RunResult[], path: RunPath, target: number): RunResult | undefined {
  return runs.find((r) => r.spec.path === path && r.spec.ratePerSecond === target);
}

function maxRuns(runs: readonly RunResult[]): RunResult[] {
  return runs.filter((r) => r.spec.ratePerSecond === null);
}

// ---------------------------------------------------------------------------------------------------
// Summary

function summary(report: Report, s: Settings): string[] {
  const lines: string[] = [];
  const limit = rawLimit(report);
  const js = report.jetstream?.[0];
  if (limit && js && report.postgres) {
    lines.push(
      `- Raw limit: **${rate(limit.perSecond)} messages/s** (${limit.which}; JetStream ` +
        `${rate(js.msgsPerSecond)} msgs/s, PostgreSQL ${rate(report.postgres.rowsPerSecond)} rows/s).`,
    );
  }
  const runs = report.e2e?.runs ?? [];
  const best = [...maxRuns(runs)].sort((a, b) => b.storedPerSecond - a.storedPerSecond)[0];
  if (best) {
    const ratio = limit ? best.storedPerSecond / limit.perSecond : Number.NaN;
    lines.push(
      `- Broker end to end, sustained: **${rate(best.storedPerSecond)} messages/s stored** ` +
        `(${best.spec.path}, as fast as accepted), ${rate(best.relayedPerSecond)} normal messages/s posted to ` +
        `the fake Slack: **${percent(ratio)} of the raw limit** ` +
        (Number.isFinite(ratio)
          ? ratio >= 0.5
            ? "(target: at least half; met)."
            : "(target: at least half; **not met**)."
          : "."),
    );
  }
  for (const path of [RunPath.http, RunPath.nats]) {
    const saturated = report.e2e?.saturatedAt[path];
    const kept = runs.filter((r) => r.spec.path === path && r.spec.ratePerSecond !== null && keptUp(r));
    const highest = kept.reduce((max, r) => Math.max(max, r.spec.ratePerSecond ?? 0), 0);
    if (runs.some((r) => r.spec.path === path)) {
      lines.push(
        highest > 0
          ? `- ${path}: kept up with ${num(highest)} messages/s offered` +
              (saturated !== undefined ? `, not with ${num(saturated)}/s.` : ".")
          : `- ${path}: did not keep up with the lowest rate offered, ${num(saturated ?? 0)} messages/s.`,
      );
    }
  }
  const target = s.e2e.targetRate;
  const atTarget = [RunPath.http, RunPath.nats].flatMap((path) => {
    const run = targetRun(runs, path, target);
    return run ? [`${path} ${ms(run.acceptToStored.p99)} ms`] : [];
  });
  if (atTarget.length > 0) {
    const worst = Math.max(
      ...[RunPath.http, RunPath.nats].map((p) => targetRun(runs, p, target)?.acceptToStored.p99 ?? 0),
    );
    lines.push(
      `- p99 from accept to stored at ${num(target)} messages/s offered: ${atTarget.join(", ")} ` +
        (worst < 20 ? "(target: under 20 ms; met)." : "(target: under 20 ms; **not met**)."),
    );
  }
  lines.push(...classifySummary(report, s.classify));
  const memory = report.memory;
  if (memory && memory.samples.length > 1) {
    const stats = memoryStats(memory);
    lines.push(
      `- Memory of a broker process over ${num(memory.messages)} messages` +
        (memory.stoppedByTimeLimit
          ? ` (**not the ${num(memory.asked)} asked**: time limit, see part 4)`
          : "") +
        `: RSS ${mib(stats.start?.rssBytes)} MiB ` +
        `after 10 % of them, peak ${mib(stats.peak)} MiB, ${mib(stats.end?.rssBytes)} MiB at the end: ` +
        (stats.flat ? "**flat**." : "**not flat**.") +
        (memory.drained ? "" : " (The run did not finish; see part 4.)"),
    );
  }
  const scale = report.scale?.runs ?? [];
  for (const path of [RunPath.http, RunPath.nats]) {
    const one = scale.find((r) => r.brokers === 1 && r.spec.path === path);
    const two = scale.find((r) => r.brokers === 2 && r.spec.path === path);
    if (one && two) {
      lines.push(
        `- Scale, ${path}: ${rate(one.storedPerSecond)} messages/s stored with one broker process, ` +
          `${rate(two.storedPerSecond)} with two (× ${num(two.storedPerSecond / one.storedPerSecond, 2)}).`,
      );
    }
  }
  lines.push(...uploadSummary(report.upload, s.upload.sizeMiB));
  const profile = report.profile?.summary;
  if (profile) {
    const busy = profile.busyMs;
    const top = profile.owners.slice(0, 4).map((a) => `${a.area} ${percent(a.selfMs / busy)}`);
    lines.push(
      `- Profile of a broker under load, busy time by caller: ${top.join(", ")}. Changed for speed: ` +
        `${perfFixes.map((fix) => fix.short).join(", ")} (part 8).`,
    );
  }
  if (report.errors.length > 0) lines.push(`- ${report.errors.length} errors: see below.`);
  return lines.length > 0 ? lines : ["Nothing was measured; see the errors below."];
}

// ---------------------------------------------------------------------------------------------------
// Part 1

function rawSection(report: Report, s: Settings): string[] {
  const out = [
    "## 1. Raw limits",
    "",
    `JetStream: acknowledged publishes of ${s.raw.bytes}-byte messages to a file-backed stream of`,
    `the bench's own, ${s.raw.inFlight} publishes in flight (\`js.publish\` promises, pipelined), after a warm-up;`,
    "once plain and once with a message id, as the broker publishes (the server then also checks its duplicate",
    "window). PostgreSQL: `INSERT ... SELECT FROM unnest(...)` of a batch at a time into a fresh database, one",
    "connection, each batch its own committed transaction, into a table shaped like `messages` (uuid primary",
    "key, one secondary index, a text body).",
    "",
  ];
  const rows: string[][] = [];
  for (const r of report.jetstream ?? []) {
    rows.push([
      r.label,
      num(r.messages),
      `${r.inFlight} in flight`,
      num(r.seconds, 2),
      rate(r.msgsPerSecond),
      num(r.mbPerSecond, 1),
      num(r.failures),
    ]);
  }
  if (report.postgres) {
    const p = report.postgres;
    rows.push([
      "PostgreSQL batched INSERT",
      num(p.rows),
      `${p.batch} rows per INSERT`,
      num(p.seconds, 2),
      rate(p.rowsPerSecond),
      num(p.mbPerSecond, 1),
      "0",
    ]);
  }
  if (rows.length > 0) {
    out.push(
      markdownTable(
        [
          L("Operation"),
          R("Messages / rows"),
          L("Shape"),
          R("Time (s)"),
          R("Throughput (msgs/s or rows/s)"),
          R("Payload (MiB/s)"),
          R("Failures"),
        ],
        rows,
      ),
      "",
    );
  }
  const limit = rawLimit(report);
  out.push(
    limit
      ? `**The raw limit is ${rate(limit.perSecond)} messages/s**, set by the ${limit.which} (the slower of ` +
          "plain JetStream publish and PostgreSQL insert). The ratios in parts 2 and 5 are to this figure."
      : "The raw limit could not be measured in this run (see the errors above); parts 2 and 5 show no ratios.",
    "",
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Parts 2 and 5: runs of the workload

function throughputTable(
  runs: readonly RunResult[],
  limit: { perSecond: number } | null,
  withBrokers: boolean,
): string {
  return markdownTable(
    [
      ...(withBrokers ? [R("Brokers")] : []),
      L("Path"),
      R("Offered"),
      R("Accepted"),
      R("Sent late"),
      R("Accepted/s"),
      R("Routed/s"),
      R("Stored/s"),
      R("Relayed"),
      R("Relayed/s"),
      L("Kept up"),
      R("Stored/s : raw limit"),
    ],
    runs.map((run) => [
      ...(withBrokers ? [num(run.brokers)] : []),
      run.spec.path,
      offered(run),
      `${num(run.accepted)} / ${num(run.sent)}`,
      run.spec.ratePerSecond === null ? "-" : num(run.late),
      rate(run.acceptedPerSecond),
      rate(run.routedPerSecond),
      rate(run.storedPerSecond),
      `${num(run.relayed)} / ${num(run.expectedRelayed)}`,
      rate(run.relayedPerSecond),
      run.spec.ratePerSecond === null ? "-" : keptUp(run) ? "yes" : "**no**",
      limit ? percent(run.storedPerSecond / limit.perSecond) : "n/a",
    ]),
  );
}

function latencyTable(runs: readonly RunResult[], withBrokers: boolean): string {
  return markdownTable(
    [
      ...(withBrokers ? [R("Brokers")] : []),
      L("Path"),
      R("Offered"),
      L("From → to"),
      R("Messages"),
      R("p50 (ms)"),
      R("p99 (ms)"),
      R("p99.9 (ms)"),
      R("max (ms)"),
    ],
    runs.flatMap((run) => {
      const lead = [...(withBrokers ? [num(run.brokers)] : []), run.spec.path, offered(run)];
      return [
        [...lead, "sender: sent → answered", ...latencyCells(run.senderWait)],
        [...lead, "accepted → decided", ...latencyCells(run.acceptToDecided)],
        [...lead, "**accepted → stored**", ...latencyCells(run.acceptToStored)],
        [...lead, "accepted → at the fake Slack", ...latencyCells(run.acceptToCloud)],
      ];
    }),
  );
}

function cpuTable(runs: readonly RunResult[], withBrokers: boolean): string {
  return markdownTable(
    [
      ...(withBrokers ? [R("Brokers")] : []),
      L("Path"),
      R("Offered"),
      R("Wall (s)"),
      R("Machine busy"),
      R("Steal"),
      R("Broker processes"),
      R("Bench process"),
      R("PostgreSQL"),
      R("nats-server"),
      R("Other"),
      R("Broker CPU / msg (ms)"),
      R("Machine CPU / msg (ms)"),
    ],
    runs.map((run) => {
      const perMessage = (cores: number) => ms((cores * run.wallSeconds * 1000) / Math.max(1, run.accepted));
      return [
        ...(withBrokers ? [num(run.brokers)] : []),
        run.spec.path,
        offered(run),
        num(run.wallSeconds, 1),
        num(run.cpu.machineBusyCores, 2),
        num(run.cpu.stealCores, 2),
        num(run.cpu.cores.brokers, 2),
        num(run.cpu.cores["this process"], 2),
        num(run.cpu.cores.PostgreSQL, 2),
        num(run.cpu.cores["nats-server"], 2),
        num(run.cpu.cores.other, 2),
        perMessage(run.cpu.cores.brokers),
        perMessage(run.cpu.machineBusyCores),
      ];
    }),
  );
}

const cpuExplained = [
  "CPU in cores' worth of time (1.00 = one core busy all the time; this machine has " +
    `${availableParallelism()}), from the first send until the run drained, from \`/proc/stat\` and`,
  "`/proc/<pid>/stat`. _Bench process_ is the load generator with the fake Slack; _PostgreSQL_ and",
  "_nats-server_ count every client of those servers, other people's tests included; _other_ is the rest of the",
  "machine's busy time (other work running at the same time, ended processes, interrupts); _steal_ is time",
  "the hypervisor gave to other guests. The per-message columns divide CPU time by the messages accepted.",
];

function leakLine(runs: readonly RunResult[]): string {
  const leaked = runs.reduce((sum, r) => sum + r.sensitiveInCloud, 0);
  return leaked === 0
    ? "No message of a `finance`-labelled conversation reached the fake Slack in any run."
    : `**${num(leaked)} messages of \`finance\`-labelled conversations reached the fake Slack.**`;
}

function brokerLogLines(lines: readonly string[], part: string): string[] {
  if (lines.length === 0) return [`The brokers logged no warnings or errors during ${part}.`, ""];
  return [
    `The brokers logged warnings or errors during ${part}; the first distinct ones:`,
    "",
    ...lines.map((l) => `- ${l.replaceAll("\n", " ")}`),
    "",
  ];
}

function endToEndSection(report: Report, s: Settings, asked: boolean): string[] {
  const e = s.e2e;
  const sensitiveCount = Math.round((e.workload.conversations * e.workload.sensitivePercent) / 100);
  const out = [
    "## 2. Broker end to end",
    "",
    "One broker child process (`watershed start` as `npm start` runs it, started through",
    "`test/helpers/broker.ts`) on a fresh database and stream prefix, with " +
      `${e.partitions} partitions, a PostgreSQL pool of ${e.poolSize} and`,
    "the product's ack wait (30 s); the cloud is the fake Slack (`test/fakes/slack`) with rate limits far above",
    "the load (1,000 posts/s per channel, on both sides). Every run creates " +
      `${e.workload.conversations} fresh conversations through the`,
    `API, each bound to a Slack channel of its own; ${sensitiveCount} of them are labelled \`finance\` (sensitive from the`,
    `start: kept on-prem), the others are normal (relayed). Messages of ${e.workload.textBytes} bytes go round-robin over`,
    "the conversations, sent on a fixed schedule at the offered rate whatever the answers (open loop; at",
    "most a fixed number waiting for an answer, so a stalled broker cannot make the sender hold everything),",
    "or _max_: as fast as they are accepted, with that many in flight.",
    "",
    "- **HTTP API**: `POST /v1/conversations/{id}/messages` with a JWT, counted on the 202.",
    "- **NATS publish to INGRESS**: what intake publishes (`test/bench/ingress.ts`, after",
    "  `broker/ingress/accept.ts`): the canonical message checked by the model, in an `{message}` envelope, with",
    "  its id as the JetStream `msgID`, to the conversation's partition subject, with the trace headers; this",
    "  skips HTTP, the JWT and the membership check. Counted on the JetStream ack.",
    "",
    `The offered rates go up (${e.rates.map((r) => num(r)).join(", ")} messages/s, ${e.runSeconds} s each) until the broker`,
    "no longer keeps up (stores and accepts less than 90 % of the offer, or does not drain), except that",
    `${num(e.targetRate)} messages/s always runs; then one run at the maximum (${num(e.maxMessages)} messages). Each run waits until`,
    "everything it sent is routed, stored and posted to the fake Slack before the next starts; " +
      `${num(e.warmupMessages)} unmeasured`,
    "HTTP messages warm the broker up first. Each partition has one message in flight, so a partition whose",
    "conversations get more than their share of the messages (a hundred conversations do not hash evenly into",
    "the partitions) falls behind first, before the broker as a whole is busy. The load generator and the fake",
    "Slack share the bench process;",
    "NATS, PostgreSQL and the broker run on the same cores; other people's tests ran on this machine too",
    "(see the load averages above).",
    "",
  ];
  if (!asked) return [...out, "Not asked for in this run (`BENCH_PARTS`).", ""];
  const runs = report.e2e?.runs ?? [];
  if (runs.length === 0) return [...out, "No run completed (see the errors above).", ""];
  const limit = rawLimit(report);
  out.push(
    "### Throughput",
    "",
    "Rates are messages per second from the first send to the last message accepted (accepted/s), decided",
    "(`routing_decisions.decided_at`, routed/s), stored (`messages.stored_at`, stored/s) or posted to the fake",
    "Slack (relayed/s; only normal messages are relayed). _Sent late_: sends that left more than 10 ms after",
    "their scheduled time (the sender had its cap of answers outstanding). _Kept up_: stored/s and accepted/s",
    "at least 90 % of the offered rate, and drained.",
    "",
    throughputTable(runs, limit, false),
    "",
  );
  const best = [...maxRuns(runs)].sort((a, b) => b.storedPerSecond - a.storedPerSecond)[0];
  if (best && limit) {
    out.push(
      `**Sustained throughput: ${rate(best.storedPerSecond)} messages/s stored** (${best.spec.path}, max), ` +
        `**${percent(best.storedPerSecond / limit.perSecond)} of the raw limit** of ${rate(limit.perSecond)} messages/s ` +
        `(${limit.which}). The target is at least half.`,
      "",
    );
  }
  out.push(
    "### Latency",
    "",
    "Percentiles in milliseconds over every message of the run. _Accepted_ is the message's `acceptedAt`",
    "(the broker's clock when intake published it; the bench's clock just before publishing on the INGRESS",
    "path; the same machine clock either way). _Stored_ is `messages.stored_at` (PostgreSQL's `now()` at the",
    "insert); _at the fake Slack_ is the arrival time the fake records for the `chat.postMessage` call that",
    "posted it (`ApiCall.at`, paired with the post in the channel that names the message in its metadata).",
    "Above the rate a broker keeps up with, these latencies are mostly time spent waiting in INGRESS.",
    "",
    latencyTable(runs, false),
    "",
  );
  const target = s.e2e.targetRate;
  const targets = [RunPath.http, RunPath.nats].flatMap((path) => {
    const run = targetRun(runs, path, target);
    return run ? [`${path}: **${ms(run.acceptToStored.p99)} ms**`] : [];
  });
  if (targets.length > 0) {
    out.push(
      `p99 from accepted to stored at ${num(target)} messages/s offered (target: under 20 ms, reported, not asserted): ` +
        `${targets.join("; ")}.`,
      "",
    );
  }
  out.push("### Where the CPU went", "", ...cpuExplained, "", cpuTable(runs, false), "");
  out.push(...relayCostLines(report.e2e?.relayCost ?? null));
  out.push(leakLine([...runs, ...relayCostRuns(report)]), "");
  const chains = report.e2e?.chains;
  if (chains) {
    out.push(
      chains.ok
        ? `The decision chains were intact after the part (${num(chains.decisions)} decisions checked with \`verifyDecisionChains\`).`
        : `**The decision chains were broken after the part** (${num(chains.decisions)} decisions).`,
      "",
    );
  }
  out.push(...brokerLogLines(report.e2e?.brokerLog ?? [], "part 2"));
  return out;
}

function relayCostRuns(report: Report): RunResult[] {
  const cost = report.e2e?.relayCost;
  return cost ? [cost.noneRelayed, cost.allRelayed] : [];
}

/** Broker CPU time per accepted message, in ms. */
function brokerMsPerMessage(run: RunResult): number {
  return (run.cpu.cores.brokers * run.wallSeconds * 1000) / Math.max(1, run.accepted);
}

function relayCostLines(cost: EndToEndOutcome["relayCost"]): string[] {
  if (!cost) return [];
  const { noneRelayed, allRelayed } = cost;
  const rows: Array<[string, RunResult]> = [
    ["every conversation `finance` (nothing relayed)", noneRelayed],
    ["no conversation labelled (everything relayed)", allRelayed],
  ];
  const extra = brokerMsPerMessage(allRelayed) - brokerMsPerMessage(noneRelayed);
  return [
    "### What relaying costs",
    "",
    `The INGRESS path as fast as accepted (${num(noneRelayed.sent)} messages each), once with every conversation labelled`,
    "`finance` and once with none, right after the runs above on the same broker:",
    "",
    markdownTable(
      [
        L("Conversations"),
        R("Stored/s"),
        R("Relayed/s"),
        R("p50 accepted → stored (ms)"),
        R("Broker processes (cores)"),
        R("Broker CPU / msg (ms)"),
        R("Machine CPU / msg (ms)"),
      ],
      rows.map(([what, run]) => [
        what,
        rate(run.storedPerSecond),
        rate(run.relayedPerSecond),
        ms(run.acceptToStored.p50),
        num(run.cpu.cores.brokers, 2),
        ms(brokerMsPerMessage(run)),
        ms((run.cpu.machineBusyCores * run.wallSeconds * 1000) / Math.max(1, run.accepted)),
      ]),
    ),
    "",
    `Relaying a message to the fake Slack cost the broker **${ms(extra)} ms of CPU** on top of routing and storing it ` +
      `(${ms(brokerMsPerMessage(noneRelayed))} ms without it), and the machine stored ` +
      `${percent(allRelayed.storedPerSecond / noneRelayed.storedPerSecond)} as many messages per second. Per relayed ` +
      "message the relay makes one pull from RELAY, takes part in two batched PostgreSQL statements (its relay" +
      " state before the send, its cloud id after it) and makes one HTTP call to Slack; part 8 has the profile.",
    "",
  ];
}

function scaleSection(report: Report, s: Settings, asked: boolean): string[] {
  const out = [
    "## 5. Scale",
    "",
    `The workload of part 2 as fast as it is accepted (${num(s.scale.messages)} messages per run, through the HTTP API`,
    "and then to INGRESS), against one broker child process and then against two sharing a fresh database",
    "and stream prefix (a new deployment each time, warmed up as in part 2). HTTP requests go round-robin to",
    "the brokers; the brokers share the partitions' consumers, and each partition still has one message in",
    "flight, whichever process holds it.",
    "",
  ];
  if (!asked) return [...out, "Not asked for in this run (`BENCH_PARTS`).", ""];
  const runs = report.scale?.runs ?? [];
  if (runs.length === 0) return [...out, "No run completed (see the errors above).", ""];
  out.push(
    throughputTable(runs, rawLimit(report), true),
    "",
    latencyTable(runs, true),
    "",
    cpuTable(runs, true),
    "",
  );
  for (const path of [RunPath.http, RunPath.nats]) {
    const one = runs.find((r) => r.brokers === 1 && r.spec.path === path);
    const two = runs.find((r) => r.brokers === 2 && r.spec.path === path);
    if (one && two) {
      const busy = two.cpu.machineBusyCores;
      out.push(
        `${path}: two broker processes stored ${num(two.storedPerSecond / one.storedPerSecond, 2)} times what one did` +
          (busy >= 0.9 * availableParallelism()
            ? ` while the machine was busy ${num(busy, 2)} cores of ${availableParallelism()}: on this machine a second` +
              " process competes for the same cores with NATS, PostgreSQL and the bench."
            : "."),
        "",
      );
    }
  }
  out.push(leakLine(runs), "", ...brokerLogLines(report.scale?.brokerLog ?? [], "part 5"));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Part 4

interface MemoryStats {
  start: MemorySample | undefined;
  end: MemorySample | undefined;
  peak: number;
  /** RSS change per 100,000 messages stored, fitted over the samples after 10 % of the messages. */
  slopePer100k: number;
  flat: boolean;
}

/**
 * Flat: over the samples after the first 10 % of the messages (start-up and warm-up before), the
 * fitted growth over the whole run is under 10 % of the RSS at 10 %, and the end is within 10 % of it.
 */
function memoryStats(memory: MemoryOutcome): MemoryStats {
  const steady = memory.samples.filter((x) => x.stored >= 0.1 * memory.messages);
  const start = steady[0];
  const end = memory.samples[memory.samples.length - 1];
  const peak = memory.samples.reduce((max, x) => Math.max(max, x.peakBytes), 0);
  const slope = rssSlope(steady);
  const fittedGrowth = slope * memory.messages;
  const flat =
    start !== undefined &&
    end !== undefined &&
    Number.isFinite(slope) &&
    fittedGrowth < 0.1 * start.rssBytes &&
    end.rssBytes < 1.1 * start.rssBytes;
  return { start, end, peak, slopePer100k: slope * 100_000, flat };
}

function memorySection(report: Report, s: Settings, asked: boolean): string[] {
  const m = s.memory;
  const out = [
    "## 4. Memory",
    "",
    `One broker child process as in part 2, ${num(m.messages)} messages of the same workload asked for, published straight to`,
    `INGRESS (${m.inFlight} publishes in flight, publishing paused while more than ${num(m.maxBacklog)} messages wait in INGRESS,`,
    "so the broker works steadily rather than a stream filling up), normal messages posted to the fake Slack.",
    "Every second the bench reads the broker's `VmRSS` and `VmHWM` (the kernel's high-water mark) from",
    "`/proc/<pid>/status`, and how far the messages got from the streams (the store consumer's ack floor on",
    "ONPREM, what left the RELAY work queue). " +
      (m.maxPublishMs > 0
        ? `Publishing stops after ${num(m.maxPublishMs / 60_000)} minutes (\`BENCH_MEMORY_MAX_MINUTES\`) ` +
          "whatever the count, so the whole bench keeps to its time."
        : "Publishing has no time limit in this run (`BENCH_MEMORY_MAX_MINUTES=0`): every message asked for is sent."),
    "",
  ];
  if (!asked) return [...out, "Not asked for in this run (`BENCH_PARTS`).", ""];
  const memory = report.memory;
  if (!memory || memory.samples.length === 0)
    return [...out, "Not measured in this run (see the errors above).", ""];
  const stats = memoryStats(memory);
  const at = (fraction: number) => memory.samples.find((x) => x.stored >= fraction * memory.messages);
  const marks: Array<[string, MemorySample | undefined]> = [
    ["first sample", memory.samples[0]],
    ["10 % stored", at(0.1)],
    ["25 % stored", at(0.25)],
    ["50 % stored", at(0.5)],
    ["75 % stored", at(0.75)],
    ["90 % stored", at(0.9)],
    ["all stored and relayed", memory.samples[memory.samples.length - 1]],
  ];
  out.push(
    markdownTable(
      [
        L("When"),
        R("Seconds"),
        R("Published"),
        R("Stored"),
        R("Relayed"),
        R("RSS (MiB)"),
        R("Peak so far (MiB)"),
      ],
      marks.map(([when, x]) =>
        x
          ? [
              when,
              num(x.seconds, 0),
              num(x.published),
              num(x.stored),
              num(x.relayed),
              num(x.rssBytes / MiB, 1),
              num(x.peakBytes / MiB, 1),
            ]
          : [when, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a"],
      ),
    ),
    "",
  );
  const stored = memory.samples[memory.samples.length - 1]?.stored ?? 0;
  out.push(
    `Idle after start: ${mib(memory.idleRssBytes)} MiB. Over the run (${num(memory.seconds, 0)} s, ` +
      `${rate(stored / memory.seconds)} messages/s stored on average; ${num(memory.storedRows)} rows in PostgreSQL, ` +
      `${num(memory.relayedRows)} of ${num(memory.expectedRelayed)} normal messages recorded as posted): RSS ` +
      `**${mib(stats.start?.rssBytes)} MiB at 10 %** of the messages, **peak ${mib(stats.peak)} MiB**, ` +
      `**${mib(stats.end?.rssBytes)} MiB at the end**; fitted over the ${num(memory.samples.filter((x) => x.stored >= 0.1 * memory.messages).length)} ` +
      `samples after 10 %, ${stats.slopePer100k >= 0 ? "+" : ""}${num(stats.slopePer100k / MiB, 2)} MiB per 100,000 messages. ` +
      (stats.flat
        ? "**Flat**: the fitted growth over the whole run is under 10 % of the RSS at 10 %, and so is the end."
        : "**Not flat** by this bench's rule (fitted growth over the run, or the end, 10 % or more above the RSS at 10 %)."),
    "",
  );
  if (memory.stoppedByTimeLimit) {
    const perSecond = stored / memory.seconds;
    out.push(
      `**Publishing stopped at the time limit after ${num(memory.messages)} of the ${num(memory.asked)} messages asked for.** ` +
        `At the ${rate(perSecond)} messages/s of this run, ${num(memory.asked)} would take about ` +
        `${num(memory.asked / perSecond / 60, 0)} minutes; \`BENCH_MEMORY_MAX_MINUTES=0\` runs them all.`,
      "",
    );
  }
  if (!memory.drained) out.push("**The run did not drain in time**; the figures cover what was done.", "");
  out.push(...brokerLogLines(memory.brokerLog, "part 4"));
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Part 8

function profileTables(summary: ProfileSummary): string[] {
  const busy = summary.busyMs;
  const share = (value: number) => percent(value / busy);
  return [
    `The profile covers ${num(summary.durationMs / 1000, 1)} s of the broker's main thread, ${num(busy / 1000, 1)} s of it busy`,
    "(everything but `(idle)`). Self time per area of code (a folder of this repository, a package, Node.js",
    "internals; _(native)_ is code outside JavaScript such as socket writes, _(program)_ is V8 and libuv work",
    "not attributed to a function):",
    "",
    markdownTable(
      [L("Area"), R("Self time (ms)"), R("Share of busy time")],
      summary.areas.slice(0, 12).map((a) => [a.area, num(a.selfMs, 0), share(a.selfMs)]),
    ),
    "",
    "The same time with native code and Node.js internals charged to the nearest caller that is a package",
    "or this repository's code (socket writes under `pg` count for `pg`; `undici` is the `fetch` of Node.js,",
    "which the Slack connector uses). The profiler samples wall time on the main thread: on a machine whose",
    "cores are all busy, a thread that is descheduled inside a system call (a socket write that wakes",
    "PostgreSQL or nats-server) is counted there until it runs again.",
    "",
    markdownTable(
      [L("Caller"), R("Self time (ms)"), R("Share of busy time")],
      summary.owners.slice(0, 12).map((a) => [a.area, num(a.selfMs, 0), share(a.selfMs)]),
    ),
    "",
    "Functions by self time (time in the function itself):",
    "",
    markdownTable(
      [L("Function (file:line)"), L("Area"), R("Self (ms)"), R("Self share"), R("Total (ms)")],
      summary.bySelf.map((f) => [
        `\`${f.name}\``,
        f.area,
        num(f.selfMs, 0),
        share(f.selfMs),
        num(f.totalMs, 0),
      ]),
    ),
    "",
    "This repository's functions by total time (with what they called; line numbers are those of the",
    "code tsx hands to V8, not always the source's):",
    "",
    markdownTable(
      [L("Function (file:line)"), R("Total (ms)"), R("Total share"), R("Self (ms)")],
      summary.projectByTotal
        .slice(0, 12)
        .map((f) => [`\`${f.name}\``, num(f.totalMs, 0), share(f.totalMs), num(f.selfMs, 0)]),
    ),
    "",
  ];
}

function profileSection(report: Report, s: Settings, asked: boolean): string[] {
  const out = [
    "## 8. Profile of the hot path",
    "",
    "One broker child process started with `node --cpu-prof` (otherwise as in part 2; Node.js does not take",
    "`--cpu-prof` from `NODE_OPTIONS`, so `test/bench/profiled-broker.ts` starts it as `test/helpers/broker.ts`",
    `does, plus the flag), ${num(s.profile.messages)} messages of the workload sent through the HTTP API as fast as accepted`,
    "(intake, routing, storing and relaying all busy), then SIGTERM: the broker closes and V8 writes the",
    "profile, which `test/bench/cpu-profile.ts` sums up over the run only (from creating its conversations",
    "until everything was stored and relayed; V8 stamps samples with the monotonic clock the bench reads),",
    "without the broker's start-up and shutdown.",
    "",
  ];
  if (!asked) return [...out, "Not asked for in this run (`BENCH_PARTS`).", ""];
  const profile = report.profile;
  if (profile?.run) out.push(throughputTable([profile.run], rawLimit(report), false), "");
  if (profile?.summary) out.push(...profileTables(profile.summary));
  else out.push("No profile was read in this run (see the errors above).", "");
  if (profile?.file) out.push(`The profile is kept at \`${profile.file}\` (open it in Chrome DevTools).`, "");
  out.push("### What was changed for speed", "");
  for (const fix of perfFixes) out.push(`- \`${fix.file}\`: ${fix.what}`);
  out.push("");
  const timing = report.e2e?.chainHeads;
  if (timing) {
    out.push(
      `Both queries on part 2's database after its last run (${num(timing.decisions)} decisions in ${timing.partitions} ` +
        `partitions), median of five: the old one **${ms(timing.distinctOnMs)} ms**, the new one **${ms(timing.lateralMs)} ms** ` +
        "(the same rows). The router runs it once per batch of decisions and waits for it before deciding; the old" +
        " cost grew with every decision ever recorded.",
      "",
    );
  }
  out.push(
    "Tried and undone: naming the hot statements so PostgreSQL prepares them once per connection. After five",
    "runs PostgreSQL may switch to a generic plan, and for `selectDecisionContexts` (an `unnest` of ids joined to",
    "`routing_decisions`) it chose one that reads the whole table: 10 ms a batch instead of 0.24 ms.",
    "",
    "Left as they are, the next candidates by the tables above: one message in flight per partition, which",
    "keeps each batch the router and the relay hand PostgreSQL as small as the partitions waiting at that",
    "moment (a few messages), so every message still pays a share of a statement, a commit and two or three",
    "NATS round trips; the Slack connector's calls through `fetch` (undici), whose cost per request shows as",
    "_undici (fetch)_; and on the HTTP path, verifying each request's JWT signature, which shows as _jose_.",
    "",
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------

export function render(report: Report, s: Settings): string {
  const out: string[] = [];
  const push = (...lines: string[]) => out.push(...lines);
  const asked = (part: Part) => s.parts.has(part);
  push(
    "# Benchmarks",
    "",
    "Written by `npm run bench` (`test/bench/run.ts`); every figure below comes from the one run described here,",
    "against the local NATS and PostgreSQL. Rerun it to refresh the page; figures from another machine or another",
    "run are not comparable line by line. No test asserts any of these speeds.",
    "",
    markdownTable(
      [L("Run"), L("Value")],
      [
        ["Date", report.startedAt.toISOString()],
        ["Command", "`npm run bench`"],
        ["CPU cores (`nproc`)", coreCount()],
        ["CPU model (`/proc/cpuinfo`)", cpuModel()],
        ["Node.js", process.version],
        ["nats-server", report.natsVersion],
        ["PostgreSQL", report.postgresVersion],
        ["Duration of the whole run", `${num(report.seconds, 0)} s`],
        ["Load average (1, 5, 15 min) at the start", loadText(report.loadAtStart)],
        ["Load average (1, 5, 15 min) at the end", loadText(report.loadAtEnd)],
      ],
    ),
    "",
    "The parts in the order they ran, with the load average when each started (other work on the machine",
    "shows there: a load above the core count means runnable processes waited for a core):",
    "",
    markdownTable(
      [L("Part"), R("Time (s)"), R("Load average (1, 5, 15 min) at its start")],
      report.parts.map((p) => [`${p.part}. ${p.title}`, num(p.seconds, 0), loadText(p.loadAtStart)]),
    ),
    "",
    "Sizes come from environment variables; these values were used:",
    "",
    markdownTable(
      [L("Variable"), R("Value"), L("Meaning")],
      knobs(s).map(([name, value, meaning]) => [`\`${name}\``, value, meaning]),
    ),
    "",
    "## Summary",
    "",
    ...summary(report, s),
    "",
  );
  if (report.errors.length > 0) {
    push("## Errors in this run", "", ...report.errors.map((e) => `- ${e.replaceAll("\n", " ")}`), "");
  }
  push(
    ...(asked(Part.raw)
      ? rawSection(report, s)
      : ["## 1. Raw limits", "", "Not asked for in this run (`BENCH_PARTS`).", ""]),
    ...endToEndSection(report, s, asked(Part.endToEnd)),
    ...classifySection(report, s.classify, asked(Part.classify)),
    ...memorySection(report, s, asked(Part.memory)),
    ...scaleSection(report, s, asked(Part.scale)),
    ...uploadSection(report.upload, s.upload.sizeMiB, asked(Part.upload)),
    ...classifyCliSection(report.classifyCli, s.cli, asked(Part.classifyCli)),
    ...profileSection(report, s, asked(Part.profile)),
  );
  return `${out.join("\n").trimEnd()}\n`;
}
