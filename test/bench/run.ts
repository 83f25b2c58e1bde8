// `npm run bench`: measures the raw limits of the local NATS and PostgreSQL, the broker end to end,
// classification alone (and what each custom detector adds to it) and the process's memory, all in
// this one process and one run, then `watershed classify` as a child process on a stream of lines and
// a large upload through a broker child process with each file store, and writes docs/benchmarks.md. Nothing here asserts a speed; a part that fails is reported and the
// rest runs.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { benchClassifyCli, type ClassifyCliResult, type RssSample } from "./classify-cli.ts";
import {
  benchClassification,
  benchDetectorCost,
  customDetectorsForBench,
  type ClassifyResult,
  type DetectorCostResult,
} from "./classify.ts";
import { benchEndToEnd, type EndToEndOutcome, type RunResult } from "./end-to-end.ts";
import { benchUpload, uploadRssLimitBytes, type UploadOutcome, type UploadRow } from "./files.ts";
import { benchJetStream, benchPostgres, type JetStreamResult, type PostgresResult } from "./raw.ts";
import { randomPrefix } from "../helpers/services.ts";
import {
  envInt,
  envIntList,
  errorText,
  markdownTable,
  MiB,
  ms,
  num,
  percent,
  rate,
  type Column,
  type Percentiles,
} from "./util.ts";

const outputPath =
  process.env.BENCH_OUTPUT ?? fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));

const settings = {
  raw: {
    messages: envInt("BENCH_RAW_MESSAGES", 20_000),
    inFlight: envInt("BENCH_RAW_INFLIGHT", 256),
    rows: envInt("BENCH_RAW_ROWS", 50_000),
    batch: envInt("BENCH_RAW_BATCH", 500),
    bytes: envInt("BENCH_BYTES", 1024),
  },
  e2e: {
    messages: envInt("BENCH_MESSAGES", 3000),
    conversations: envInt("BENCH_CONVERSATIONS", 100),
    sensitivePercent: envInt("BENCH_SENSITIVE_PERCENT", 30),
    textBytes: envInt("BENCH_BYTES", 1024),
    httpConcurrency: envIntList("BENCH_CONCURRENCY", [32, 128], 0).filter((c) => c > 0),
    natsInFlight: envInt("BENCH_NATS_INFLIGHT", 128, 0),
    partitions: envInt("BENCH_PARTITIONS", 16),
    poolSize: envInt("BENCH_POOL_SIZE", 10),
    warmupMessages: envInt("BENCH_WARMUP_MESSAGES", 300, 0),
    drainTimeoutMs: envInt("BENCH_DRAIN_TIMEOUT_S", 60) * 1000,
  },
  classify: {
    durationMs: envInt("BENCH_CLASSIFY_MS", 1500),
    shortBytes: 60,
    largeBytes: 64 * 1024,
    customDetectors: envIntList("BENCH_CUSTOM_DETECTORS", [0, 1, 5, 20], 0),
  },
  cli: {
    lines: envInt("BENCH_CLASSIFY_LINES", 1_000_000, 0),
    conversations: envInt("BENCH_CLASSIFY_CONVERSATIONS", 1000),
    cardPercent: 30,
    stallTimeoutMs: 30_000,
  },
  upload: {
    sizeMiB: envInt("BENCH_UPLOAD_MIB", 512, 0),
  },
};

/** The environment variables that size the run, with the values used. */
const knobs: Array<[string, string, string]> = [
  ["BENCH_RAW_MESSAGES", String(settings.raw.messages), "JetStream publishes per raw measurement"],
  ["BENCH_RAW_INFLIGHT", String(settings.raw.inFlight), "raw JetStream publishes in flight"],
  ["BENCH_RAW_ROWS", String(settings.raw.rows), "rows inserted in the raw PostgreSQL measurement"],
  ["BENCH_RAW_BATCH", String(settings.raw.batch), "rows per INSERT"],
  ["BENCH_BYTES", String(settings.raw.bytes), "message / row / text size in bytes"],
  ["BENCH_MESSAGES", String(settings.e2e.messages), "messages per end-to-end run"],
  ["BENCH_CONVERSATIONS", String(settings.e2e.conversations), "fresh conversations per end-to-end run"],
  ["BENCH_SENSITIVE_PERCENT", String(settings.e2e.sensitivePercent), "share labelled `finance`"],
  [
    "BENCH_CONCURRENCY",
    settings.e2e.httpConcurrency.join(",") || "0",
    "concurrent HTTP senders, one run each (0 skips)",
  ],
  [
    "BENCH_NATS_INFLIGHT",
    String(settings.e2e.natsInFlight),
    "publishes in flight on the INGRESS path (0 skips)",
  ],
  ["BENCH_PARTITIONS", String(settings.e2e.partitions), "broker partitions (`nats.partitions`)"],
  ["BENCH_POOL_SIZE", String(settings.e2e.poolSize), "broker PostgreSQL pool (`postgres.poolSize`)"],
  [
    "BENCH_WARMUP_MESSAGES",
    String(settings.e2e.warmupMessages),
    "unmeasured HTTP messages before part 2 (0 skips)",
  ],
  ["BENCH_DRAIN_TIMEOUT_S", String(settings.e2e.drainTimeoutMs / 1000), "longest wait for a run to drain"],
  ["BENCH_CLASSIFY_MS", String(settings.classify.durationMs), "time per classification case, ms"],
  [
    "BENCH_CUSTOM_DETECTORS",
    settings.classify.customDetectors.join(","),
    `custom detectors added to the default policy, one case each (at most ${customDetectorsForBench.length})`,
  ],
  [
    "BENCH_CLASSIFY_LINES",
    String(settings.cli.lines),
    "JSON lines streamed through `watershed classify` (0 skips)",
  ],
  ["BENCH_CLASSIFY_CONVERSATIONS", String(settings.cli.conversations), "conversation ids in those lines"],
  [
    "BENCH_UPLOAD_MIB",
    String(settings.upload.sizeMiB),
    "size of the file uploaded through a broker process with each store, MiB (0 skips)",
  ],
];

interface Report {
  startedAt: Date;
  loadAtStart: number[];
  loadAtEnd: number[];
  seconds: number;
  natsVersion: string;
  postgresVersion: string;
  jetstream: JetStreamResult[] | null;
  postgres: PostgresResult | null;
  e2e: EndToEndOutcome | null;
  classify: { policyVersion: string; results: ClassifyResult[] } | null;
  detectorCost: DetectorCostResult | null;
  classifyCli: ClassifyCliResult | null;
  upload: UploadOutcome | null;
  errors: string[];
}

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

async function main(): Promise<void> {
  const started = performance.now();
  const report: Report = {
    startedAt: new Date(),
    loadAtStart: loadavg(),
    loadAtEnd: [],
    seconds: 0,
    natsVersion: "unknown",
    postgresVersion: "unknown",
    jetstream: null,
    postgres: null,
    e2e: null,
    classify: null,
    detectorCost: null,
    classifyCli: null,
    upload: null,
    errors: [],
  };
  const prefix = randomPrefix();
  const [load1] = loadavg();
  if ((load1 ?? 0) > 0.5 * availableParallelism()) {
    log(
      `the machine is busy (load average ${num(load1 ?? 0, 2)}): expect lower figures than on a quiet machine`,
    );
  }

  log(
    `part 1: JetStream, ${settings.raw.messages} x ${settings.raw.bytes} B, ${settings.raw.inFlight} in flight`,
  );
  try {
    const result = await benchJetStream({
      prefix,
      messages: settings.raw.messages,
      messageBytes: settings.raw.bytes,
      inFlight: settings.raw.inFlight,
    });
    report.jetstream = result.results;
    report.natsVersion = result.serverVersion;
    for (const r of result.results) log(`  ${r.label}: ${rate(r.msgsPerSecond)} msgs/s`);
  } catch (error) {
    report.errors.push(`Part 1, JetStream: ${errorText(error)}`);
  }
  log(`part 1: PostgreSQL, ${settings.raw.rows} rows in batches of ${settings.raw.batch}`);
  try {
    report.postgres = await benchPostgres({
      rows: settings.raw.rows,
      rowBytes: settings.raw.bytes,
      batch: settings.raw.batch,
    });
    report.postgresVersion = report.postgres.serverVersion;
    log(`  ${rate(report.postgres.rowsPerSecond)} rows/s`);
  } catch (error) {
    report.errors.push(`Part 1, PostgreSQL: ${errorText(error)}`);
  }

  log(
    `part 2: broker end to end, ${settings.e2e.messages} messages per run, ` +
      `HTTP at ${settings.e2e.httpConcurrency.join(" and ") || "none"} concurrent, ` +
      `INGRESS at ${settings.e2e.natsInFlight || "none"} in flight`,
  );
  try {
    report.e2e = await benchEndToEnd(settings.e2e);
    for (const run of report.e2e.runs) {
      log(
        `  ${run.path} x${run.concurrency}: accepted ${rate(run.acceptedPerSecond)}/s, ` +
          `stored ${rate(run.storedPerSecond)}/s, relayed ${rate(run.relayedPerSecond)}/s`,
      );
    }
    report.errors.push(...report.e2e.errors.map((e) => `Part 2: ${e}`));
    for (const run of report.e2e.runs) {
      report.errors.push(...run.errors.map((e) => `Part 2, ${run.path} x${run.concurrency}: ${e}`));
    }
  } catch (error) {
    report.errors.push(`Part 2: ${errorText(error)}`);
  }

  log(`part 3: classification, ${settings.classify.durationMs} ms per case`);
  try {
    report.classify = await benchClassification(settings.classify);
  } catch (error) {
    report.errors.push(`Part 3: ${errorText(error)}`);
  }
  if (settings.classify.customDetectors.length > 0) {
    log(
      `part 3: custom detectors, ${settings.classify.customDetectors.join(", ")} added to the default policy`,
    );
    try {
      report.detectorCost = await benchDetectorCost({
        durationMs: settings.classify.durationMs,
        shortBytes: settings.classify.shortBytes,
        largeBytes: settings.classify.largeBytes,
        counts: settings.classify.customDetectors,
      });
      for (const row of report.detectorCost.rows) {
        log(
          `  ${row.detectors} custom: ${rate(row.short.msgsPerSecond)} short msgs/s, ` +
            `${num(row.large.mbPerSecond, 1)} MiB/s on ${settings.classify.largeBytes / 1024} KiB`,
        );
      }
      report.errors.push(...report.detectorCost.errors.map((e) => `Part 3, custom detectors: ${e}`));
    } catch (error) {
      report.errors.push(`Part 3, custom detectors: ${errorText(error)}`);
    }
  }

  if (settings.cli.lines > 0) {
    log(
      `part 5: \`watershed classify\`, ${num(settings.cli.lines)} lines over ${num(settings.cli.conversations)} conversations`,
    );
    try {
      report.classifyCli = await benchClassifyCli(settings.cli);
      const cli = report.classifyCli;
      log(
        `  ${num(cli.outputLines)} of ${num(cli.lines)} lines out, ${rate(cli.linesPerSecond)} lines/s, ` +
          `${num(cli.seconds, 1)} s in all`,
      );
      report.errors.push(...cli.errors.map((e) => `Part 5: ${e}`));
    } catch (error) {
      report.errors.push(`Part 5: ${errorText(error)}`);
    }
  }

  if (settings.upload.sizeMiB > 0) {
    log(`part 6: a ${num(settings.upload.sizeMiB)} MiB upload through a broker process, NATS and S3 stores`);
    try {
      report.upload = await benchUpload(settings.upload);
      for (const row of report.upload.rows) {
        log(
          `  ${row.storeKind}: RSS before ${mib(row.rssBeforeBytes)} MiB, peak ${mib(row.peakBytes)} MiB, ` +
            `${num(row.mbPerSecond, 0)} MiB/s`,
        );
      }
      report.errors.push(...report.upload.errors.map((e) => `Part 6: ${e}`));
    } catch (error) {
      report.errors.push(`Part 6: ${errorText(error)}`);
    }
  }

  report.seconds = (performance.now() - started) / 1000;
  report.loadAtEnd = loadavg();
  await writeFile(outputPath, render(report));
  log(`wrote ${outputPath} after ${num(report.seconds, 0)} s`);
  for (const error of report.errors) console.error(`  error: ${error}`);
}

// ---------------------------------------------------------------------------------------------------
// The report

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
function rawLimit(report: Report): { perSecond: number; which: string } | null {
  const js = report.jetstream?.[0];
  const pg = report.postgres;
  if (!js || !pg) return null;
  return js.msgsPerSecond <= pg.rowsPerSecond
    ? { perSecond: js.msgsPerSecond, which: "JetStream publish" }
    : { perSecond: pg.rowsPerSecond, which: "PostgreSQL insert" };
}

const R = (title: string): Column => ({ title, align: "right" });
const L = (title: string): Column => ({ title });

function runName(run: RunResult): string {
  return run.path === "HTTP API"
    ? `HTTP API, ${run.concurrency} concurrent senders`
    : `NATS publish to INGRESS, ${run.concurrency} in flight`;
}

function latencyCells(p: Percentiles): string[] {
  return [num(p.count), ms(p.p50), ms(p.p99), ms(p.p999), ms(p.max)];
}

/** A few sentences derived from this run's figures only. */
function summary(report: Report): string[] {
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
  const best = [...runs].sort((a, b) => b.storedPerSecond - a.storedPerSecond)[0];
  if (best) {
    lines.push(
      `- Broker end to end: at best **${rate(best.storedPerSecond)} messages/s stored** ` +
        `(${runName(best)}${limit ? `, ${percent(best.storedPerSecond / limit.perSecond)} of the raw limit` : ""}),` +
        ` ${rate(best.relayedPerSecond)} normal messages/s relayed.`,
    );
  }
  const http = runs.filter((run) => run.path === "HTTP API");
  if (http.length > 0) {
    const fastest = Math.max(...http.map((run) => run.acceptedPerSecond));
    lines.push(`- HTTP intake: up to ${rate(fastest)} messages/s accepted (202).`);
  }
  const lagging = runs.filter((run) => run.acceptedPerSecond > 1.2 * run.routedPerSecond);
  if (lagging.length > 0) {
    lines.push(
      "- Messages were accepted faster than they were routed in " +
        lagging
          .map(
            (run) =>
              `${runName(run)} (${rate(run.acceptedPerSecond)}/s accepted, ${rate(run.routedPerSecond)}/s routed, ` +
              `p50 accepted to stored ${ms(run.acceptToStored.p50)} ms)`,
          )
          .join("; ") +
        ": the difference waited in INGRESS, and the latencies below are mostly that wait.",
    );
  }
  const fastestClassify = report.classify?.results[0];
  if (fastestClassify) {
    lines.push(
      `- Classification with the default policy: ${rate(fastestClassify.msgsPerSecond)} short messages/s on ` +
        "one core, far from the limit of anything above.",
    );
  }
  const cost = report.detectorCost;
  if (cost && cost.rows.length > 1) {
    lines.push(
      `- Custom detectors: each one added to the default policy costs about ` +
        `**${usText(cost.shortUsPerDetector)} µs of CPU per short message** and makes a ` +
        `${num(settings.classify.largeBytes / 1024)} KiB text **${percent(cost.largeSlowdownPerDetector)} slower** ` +
        `to classify (fitted over ${cost.rows.map((r) => r.detectors).join(", ")} detectors).`,
    );
  }
  const cli = report.classifyCli;
  if (cli) {
    const { atTenPercent, lastStreaming, peakBytes } = rssMarks(cli);
    lines.push(
      `- \`watershed classify\` on ${num(cli.lines)} JSON lines through a pipe: **${rate(cli.linesPerSecond)} lines/s** ` +
        `(${num(cli.seconds, 1)} s in all, with ${num(cli.startupSeconds, 1)} s of start-up); RSS ` +
        `${mib(atTenPercent?.rssBytes)} MiB after 10 % of the lines, ${mib(lastStreaming?.rssBytes)} MiB near ` +
        `the end, peak ${mib(peakBytes)} MiB` +
        (cli.outputLines === cli.lines ? "." : `; **${num(cli.outputLines)} output lines**.`),
    );
  }
  const uploads = report.upload?.rows ?? [];
  if (uploads.length > 0) {
    lines.push(
      `- A ${num(settings.upload.sizeMiB)} MiB upload through a broker process, peak RSS of the broker: ` +
        uploads
          .map(
            (row) =>
              `${storeNames[row.storeKind]} **${mib(row.peakBytes)} MiB** (${num(row.mbPerSecond, 0)} MiB/s)`,
          )
          .join(", ") +
        (uploads.every((row) => row.peakBytes < uploadRssLimitBytes)
          ? `; under the ${uploadLimitText} the test allows.`
          : `; **over the ${uploadLimitText} the test allows**.`),
    );
  }
  const memory = report.e2e?.memory ?? [];
  const first = memory[0];
  const last = memory[memory.length - 1];
  if (first && last && memory.length > 1) {
    lines.push(
      `- Resident memory of the process: ${num(first.rssBytes / MiB, 0)} MiB before the broker started, ` +
        `${num(last.rssBytes / MiB, 0)} MiB after the last end-to-end run.`,
    );
  }
  if (report.errors.length > 0) lines.push(`- ${report.errors.length} errors: see below.`);
  return lines.length > 0 ? lines : ["Nothing was measured; see the errors below."];
}

/** What the classification figures say, derived from them. */
function classifyNotes(results: readonly ClassifyResult[]): string[] {
  const lines: string[] = [];
  const short = results.find((r) => r.conversation.startsWith("no labels") && r.label.startsWith("short"));
  const large = results.find((r) => r.conversation.startsWith("no labels") && r.label.startsWith("large"));
  if (short && large) {
    const ratio = short.msgsPerSecond / large.msgsPerSecond;
    const sizeRatio = large.textBytes / short.textBytes;
    lines.push(
      ratio > sizeRatio / 10
        ? `A ${num(large.textBytes / 1024)} KiB text took ${num(ratio, 0)} times as long as a ` +
            `${short.textBytes}-byte one: the cost follows the text's length, and the large-text MiB/s is ` +
            "the speed at which the policy reads text."
        : `A ${num(large.textBytes / 1024)} KiB text took only ${num(ratio, 1)} times as long as a ` +
            `${short.textBytes}-byte one: the policy barely reads the text, so its MiB/s is not a scanning speed.`,
    );
  }
  const falsePositives = results.filter((r) => r.conversation.startsWith("no labels") && r.sensitive > 0);
  lines.push(
    falsePositives.length === 0
      ? "No unlabelled conversation's message was found sensitive."
      : `**Ordinary chat text was found sensitive** in: ${falsePositives
          .map((r) => `${r.label} (${num(r.sensitive)} of ${num(r.evaluations)})`)
          .join(", ")}.`,
  );
  const errors = results.reduce((sum, r) => sum + r.errors, 0);
  if (errors > 0) lines.push(`**${num(errors)} evaluations returned an error.**`);
  return [lines.join(" "), ""];
}

const storeNames: Record<UploadRow["storeKind"], string> = {
  nats: "NATS object store",
  s3: "S3 store on s3rver",
};

const uploadLimitText = `${num(uploadRssLimitBytes / 1e6)} MB (${num(uploadRssLimitBytes / MiB, 1)} MiB)`;

function uploadSection(rows: readonly UploadRow[]): string[] {
  const out = [
    markdownTable(
      [
        L("Store"),
        R("RSS before (MiB)"),
        R("Peak RSS (MiB)"),
        R("Time (s)"),
        R("MiB/s"),
        L(`Peak under ${num(uploadRssLimitBytes / 1e6)} MB`),
      ],
      rows.map((row) => [
        storeNames[row.storeKind],
        mib(row.rssBeforeBytes),
        mib(row.peakBytes),
        num(row.seconds, 1),
        num(row.mbPerSecond, 0),
        row.peakBytes < uploadRssLimitBytes ? "yes" : "**no**",
      ]),
    ),
    "",
  ];
  const grown = rows.map(
    (row) =>
      `${mib(row.peakBytes - row.rssBeforeBytes)} MiB with the ${storeNames[row.storeKind]} ` +
      `(${percent((row.peakBytes - row.rssBeforeBytes) / row.sizeBytes)} of the file)`,
  );
  out.push(`The peak stood ${grown.join(" and ")} above the resident memory before the upload.`, "");
  return out;
}

function usText(us: number): string {
  return num(us, Math.abs(us) >= 10 ? 1 : 2);
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : num(bytes / MiB, 0);
}

/**
 * The first sample after 10 % of the lines came out; the last one taken while lines were still
 * coming out (later ones see the process winding down); the kernel's peak at the last sample.
 */
function rssMarks(cli: ClassifyCliResult): {
  atTenPercent?: RssSample;
  lastStreaming?: RssSample;
  peakBytes?: number;
} {
  const streaming = cli.samples.filter((s) => s.linesOut < cli.lines);
  return {
    atTenPercent: cli.samples.find((s) => s.linesOut >= 0.1 * cli.lines),
    lastStreaming: streaming[streaming.length - 1] ?? cli.samples[cli.samples.length - 1],
    peakBytes: cli.samples[cli.samples.length - 1]?.peakBytes,
  };
}

function detectorCostSection(cost: DetectorCostResult): string[] {
  const c = settings.classify;
  const base = cost.rows.find((r) => r.detectors === 0);
  const perDetector = (value: number, baseValue: number | undefined, k: number) =>
    baseValue === undefined || k === 0 ? "-" : (value - baseValue) / k;
  const out = [
    "### Cost per extra custom detector",
    "",
    "The text of `policies/default.yaml` with k custom detectors added under `detectors.custom` (the first k of",
    `the ${customDetectorsForBench.length} in \`test/bench/classify.ts\`: internal identifiers such as`,
    "`EMP-\\d{6}`, `PRJ-[A-Z]{3}-\\d{4}` or a license key, every repeat bounded, one or two keywords each, no",
    "validator) and one more sensitive rule, `detected: {types: <those k>, minConfidence: 0.9}`; k = 0 is the",
    "default policy unchanged. Each is parsed with `parsePolicy` and compiled with `compilePolicy`, then",
    `evaluates the same 64 unlabelled texts of ${c.shortBytes} bytes and the same 64 of ${num(c.largeBytes / 1024)} KiB`,
    "as above (no custom pattern matches them, so each detector is one regex pass that finds nothing). Each",
    `case runs ${c.durationMs} ms in all, in ${cost.rounds} rounds taken in turn over every k, so a busy moment of`,
    "the machine slows every k alike; each row is the round with the median CPU time per message. Messages/s",
    "and MiB/s are per wall-clock second, as in the table above; the times per message, and the costs per",
    "detector derived from them, are this process's CPU time (`process.cpuUsage()`, user + system), which",
    "other work on a busy machine inflates far less than wall time. _Per detector vs 0_ is the difference to",
    "k = 0 divided by k.",
    "",
  ];
  if (cost.rows.length === 0) return [...out, "Not measured in this run (see the errors above).", ""];
  out.push(
    markdownTable(
      [
        R("Custom detectors"),
        R(`${c.shortBytes} B: messages/s`),
        R(`${c.shortBytes} B: CPU µs/message`),
        R(`${c.shortBytes} B: CPU µs per detector vs 0`),
        R(`${num(c.largeBytes / 1024)} KiB: text MiB/s`),
        R(`${num(c.largeBytes / 1024)} KiB: CPU ms/message`),
        R(`${num(c.largeBytes / 1024)} KiB: slowdown per detector vs 0`),
        R("Sensitive"),
        R("Errors"),
      ],
      cost.rows.map((r) => {
        const shortDelta = perDetector(r.short.usPerMessage, base?.short.usPerMessage, r.detectors);
        const largeDelta = perDetector(r.large.msPerMessage, base?.large.msPerMessage, r.detectors);
        return [
          num(r.detectors),
          rate(r.short.msgsPerSecond),
          usText(r.short.usPerMessage),
          typeof shortDelta === "number" ? usText(shortDelta) : shortDelta,
          num(r.large.mbPerSecond, 1),
          ms(r.large.msPerMessage),
          typeof largeDelta === "number" && base ? percent(largeDelta / base.large.msPerMessage) : "-",
          num(r.short.sensitive + r.large.sensitive),
          num(r.short.errors + r.large.errors),
        ];
      }),
    ),
    "",
  );
  const most = cost.rows.reduce((a, b) => (b.detectors > a.detectors ? b : a));
  if (cost.rows.length > 1) {
    out.push(
      `Fitted over k = ${cost.rows.map((r) => r.detectors).join(", ")} (least squares, CPU time per message against` +
        ` k): each extra custom detector costs **${usText(cost.shortUsPerDetector)} µs per ${c.shortBytes}-byte message**` +
        (base ? ` (${usText(base.short.usPerMessage)} µs with none)` : "") +
        ` and makes a ${num(c.largeBytes / 1024)} KiB text **${percent(cost.largeSlowdownPerDetector)} slower**` +
        (base
          ? `; with ${most.detectors} the policy reads ${num(most.large.mbPerSecond, 1)} MiB/s instead of ` +
            `${num(base.large.mbPerSecond, 1)}.`
          : "."),
      "",
    );
  }
  const sensitive = cost.rows.reduce((sum, r) => sum + r.short.sensitive + r.large.sensitive, 0);
  if (sensitive > 0) out.push(`**${num(sensitive)} evaluations of ordinary chat text were sensitive.**`, "");
  return out;
}

function classifyCliSection(cli: ClassifyCliResult): string[] {
  const { atTenPercent, lastStreaming, peakBytes } = rssMarks(cli);
  const at = (fraction: number) => cli.samples.find((s) => s.linesOut >= fraction * cli.lines);
  const final = cli.samples[cli.samples.length - 1];
  const rssRows: Array<[string, RssSample | undefined]> = [
    ["after 10 % of the lines", atTenPercent],
    ["after 25 %", at(0.25)],
    ["after 50 %", at(0.5)],
    ["after 75 %", at(0.75)],
    ["last sample while lines came out", lastStreaming],
  ];
  if (final && final !== lastStreaming) rssRows.push(["last sample, all lines out, before exit", final]);
  const afterTen =
    atTenPercent && lastStreaming
      ? cli.samples.filter((s) => s.seconds >= atTenPercent.seconds && s.seconds <= lastStreaming.seconds)
      : [];
  const highest = afterTen.reduce((max, s) => Math.max(max, s.rssBytes), 0);
  const lowest = afterTen.reduce((min, s) => Math.min(min, s.rssBytes), Number.POSITIVE_INFINITY);
  const out = [
    markdownTable(
      [L("Measure"), R("Value")],
      [
        ["Input lines", `${num(cli.lines)} (${num(cli.inputBytes / MiB, 0)} MiB)`],
        ["Lines with a card number", num(cli.cardLines)],
        [
          "Output lines",
          `${num(cli.outputLines)} (${cli.outputLines === cli.lines ? "one per input line" : "**not one per input line**"})`,
        ],
        [
          "Output on-prem / of them sticky / cloud",
          `${num(cli.onprem)} / ${num(cli.sticky)} / ${num(cli.cloud)}`,
        ],
        [
          "Output lines with an error / another zone than expected",
          `${num(cli.errorLines)} / ${num(cli.zoneMismatches)}`,
        ],
        ["Exit code", cli.signal ?? String(cli.exitCode)],
        ["Total time, spawn to exit (s)", num(cli.seconds, 1)],
        ["Start-up, spawn to first output line (s)", num(cli.startupSeconds, 1)],
        ["Streaming, first to last output line (s)", num(cli.streamSeconds, 1)],
        ["**Throughput, first to last output line (lines/s)**", rate(cli.linesPerSecond)],
        ["Throughput over the total time (lines/s)", rate(cli.outputLines / cli.seconds)],
        [
          "CLI process CPU time, user + system (s)",
          `${num(cli.childCpuSeconds, 1)} (${num(cli.childCpuSeconds / cli.seconds, 2)} cores over the total time)`,
        ],
        [
          "Bench process CPU time meanwhile: generating and reading lines (s)",
          `${num(cli.benchCpuSeconds, 1)} (${num(cli.benchCpuSeconds / cli.seconds, 2)} cores)`,
        ],
      ],
    ),
    "",
    `Resident memory of the CLI process (\`VmRSS\`; _peak so far_ is the kernel's \`VmHWM\`), ${num(cli.samples.length)}`,
    "samples in all:",
    "",
    markdownTable(
      [L("When"), R("Output lines"), R("Seconds after spawn"), R("RSS (MiB)"), R("Peak so far (MiB)")],
      rssRows.map(([when, s]) =>
        s
          ? [when, num(s.linesOut), num(s.seconds, 1), num(s.rssBytes / MiB, 1), num(s.peakBytes / MiB, 1)]
          : [when, "n/a", "n/a", "n/a", "n/a"],
      ),
    ),
    "",
  ];
  const notes: string[] = [];
  if (atTenPercent && lastStreaming) {
    const growth = lastStreaming.rssBytes / atTenPercent.rssBytes - 1;
    notes.push(
      `From 10 % of the lines to the last sample while lines came out, RSS stayed between ${mib(lowest)} and ` +
        `${mib(highest)} MiB (${mib(atTenPercent.rssBytes)} MiB at 10 %, ${mib(lastStreaming.rssBytes)} MiB at ` +
        `the last, ${growth >= 0 ? "+" : ""}${percent(growth)}; peak over the whole run ${mib(peakBytes)} MiB): ` +
        (highest <= 1.5 * atTenPercent.rssBytes
          ? "after the first 10 % it never rose by half again, so memory stays flat, give or take the heap " +
            "V8 lets grow before it collects."
          : "**it rose by more than half after the first 10 % of the lines.**"),
    );
  }
  if (cli.seconds > 60) {
    notes.push(
      `This part took ${num(cli.seconds, 0)} s, more than the minute it is meant to take: at ` +
        `${rate(cli.linesPerSecond)} lines/s, ${num(cli.lines)} lines take that long on this machine ` +
        "(set `BENCH_CLASSIFY_LINES` lower for a shorter run).",
    );
  }
  if (notes.length > 0) out.push(notes.join(" "), "");
  return out;
}

function render(report: Report): string {
  const out: string[] = [];
  const push = (...lines: string[]) => out.push(...lines);
  const limit = rawLimit(report);
  const e2e = settings.e2e;

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
        ["Load average (1, 5, 15 min) at the start", report.loadAtStart.map((l) => num(l, 2)).join(", ")],
        ["Load average (1, 5, 15 min) at the end", report.loadAtEnd.map((l) => num(l, 2)).join(", ")],
      ],
    ),
    "",
    "Sizes come from environment variables; these values were used:",
    "",
    markdownTable(
      [L("Variable"), R("Value"), L("Meaning")],
      knobs.map(([name, value, meaning]) => [`\`${name}\``, value, meaning]),
    ),
    "",
  );

  push("## Summary", "", ...summary(report), "");

  if (report.errors.length > 0) {
    push("## Errors in this run", "", ...report.errors.map((e) => `- ${e.replaceAll("\n", " ")}`), "");
  }

  // Part 1
  push(
    "## 1. Raw limits",
    "",
    `JetStream: acknowledged publishes of ${settings.raw.bytes}-byte messages to a file-backed stream of`,
    `the bench's own, ${settings.raw.inFlight} publishes in flight (\`js.publish\` promises), after a warm-up.`,
    "PostgreSQL: `INSERT ... SELECT FROM unnest(...)` of a batch at a time into a fresh database, one connection,",
    "each batch its own committed transaction, into a table shaped like `messages` (uuid primary key, one",
    "secondary index, a text body).",
    "",
  );
  const rawRows: string[][] = [];
  for (const r of report.jetstream ?? []) {
    rawRows.push([
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
    rawRows.push([
      "PostgreSQL batched INSERT",
      num(p.rows),
      `${p.batch} rows per INSERT`,
      num(p.seconds, 2),
      rate(p.rowsPerSecond),
      num(p.mbPerSecond, 1),
      "0",
    ]);
  }
  if (rawRows.length > 0) {
    push(
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
        rawRows,
      ),
      "",
    );
  }
  push(
    limit
      ? `**The raw limit is ${rate(limit.perSecond)} messages/s**, set by the ${limit.which} (the slower of ` +
          "plain JetStream publish and PostgreSQL insert). The ratios in part 2 are to this figure."
      : "The raw limit could not be measured in this run (see the errors above); part 2 shows no ratios.",
    "",
  );

  // Part 2
  const sensitiveCount = Math.round((e2e.conversations * e2e.sensitivePercent) / 100);
  push(
    "## 2. Broker end to end",
    "",
    `One broker started in-process with \`startBroker\` (its own database and stream prefix,`,
    `${e2e.partitions} partitions, a PostgreSQL pool of ${e2e.poolSize}, ack wait 30 s; otherwise the test`,
    "configuration), with the webhook connector pointing at the fake receiver `test/fakes/webhook-receiver.ts`",
    `(in the same process) as the cloud. Each run creates ${e2e.conversations} fresh conversations, ${sensitiveCount}`,
    `of them labelled \`finance\` (sensitive, kept on-prem) and the rest unlabelled (normal, relayed), and sends`,
    `${num(e2e.messages)} messages of ${e2e.textBytes} bytes spread round-robin over them, by a fixed number of`,
    "senders each sending its next message as soon as the last one was accepted. The HTTP runs POST",
    "`/v1/conversations/{id}/messages` with a JWT and count the 202s; the INGRESS run publishes canonical",
    "messages (`{message}` envelopes, message id as `msgID`) straight to the conversation's INGRESS partition,",
    "skipping HTTP, JWT, the conversation lookup and the membership check. Each run waits until everything",
    `it sent was routed, stored and relayed before the next starts; ${num(e2e.warmupMessages)} unmeasured HTTP`,
    "messages warm the broker up first.",
    "",
    "The load generator, the broker and the receiver share one Node.js process and its one event loop, and",
    "NATS and PostgreSQL run on the same cores: the figures are what this whole machine does, a lower bound",
    "for a broker with a machine of its own.",
    "",
  );
  const runs = report.e2e?.runs ?? [];
  if (runs.length > 0) {
    push(
      "### Throughput",
      "",
      "Rates are messages per second from the first send to the last one accepted (accepted/s), routed",
      "(`routing_decisions.decided_at`), stored (`messages.stored_at`) or received by the webhook receiver",
      "(relayed/s, unique idempotency keys; only normal messages are relayed).",
      "",
      markdownTable(
        [
          L("Run"),
          R("Accepted"),
          R("Accepted/s"),
          R("Routed/s"),
          R("Stored/s"),
          R("All stored after (s)"),
          R("Relayed"),
          R("Relayed/s"),
          R("Accepted/s : raw limit"),
          R("Stored/s : raw limit"),
        ],
        runs.map((run) => [
          runName(run),
          `${num(run.accepted)} / ${num(run.sent)}`,
          rate(run.acceptedPerSecond),
          rate(run.routedPerSecond),
          rate(run.storedPerSecond),
          num(run.allStoredAfterSeconds, 1),
          `${num(run.relayed)} / ${num(run.expectedRelayed)}`,
          rate(run.relayedPerSecond),
          limit ? percent(run.acceptedPerSecond / limit.perSecond) : "n/a",
          limit ? percent(run.storedPerSecond / limit.perSecond) : "n/a",
        ]),
      ),
      "",
      "### Latency",
      "",
      "Percentiles in milliseconds over every message of the run.",
      "",
      "- _sender wait_: the sender's view, request sent to 202 (HTTP) or publish to ack (NATS);",
      "- _accepted to decided_: `routing_decisions.decided_at - messages.accepted_at`;",
      "- _accepted to stored_: `messages.stored_at - messages.accepted_at`, computed in PostgreSQL;",
      "- _accepted to webhook_: the receiver's `receivedAt` minus the message's `acceptedAt` (first delivery).",
      "",
      markdownTable(
        [L("Run"), L("Stage"), R("Messages"), R("p50 (ms)"), R("p99 (ms)"), R("p99.9 (ms)"), R("max (ms)")],
        runs.flatMap((run) => [
          [runName(run), "sender wait", ...latencyCells(run.acceptLatency)],
          [runName(run), "accepted to decided", ...latencyCells(run.acceptToDecided)],
          [runName(run), "accepted to stored", ...latencyCells(run.acceptToStored)],
          [runName(run), "accepted to webhook", ...latencyCells(run.acceptToWebhook)],
        ]),
      ),
      "",
      "### Where the CPU went",
      "",
      "From the first send until everything was routed, stored and relayed, in cores' worth of CPU time",
      `(1.00 = one core busy all the time; this machine has ${availableParallelism()}), from \`/proc/stat\` and`,
      "`/proc/<pid>/stat`. _This process_ is the broker with its senders and the receiver; _PostgreSQL_ and",
      "_nats-server_ count every client of those servers; _other_ is the rest of the machine's busy time (other",
      "work running at the same time, processes that ended during the run, kernel interrupt work); _steal_ is",
      "time the hypervisor gave to other guests.",
      "_Event loop busy_ is this process's `performance.eventLoopUtilization()`. The per-message columns",
      "divide CPU time by the messages accepted in the run.",
      "",
      markdownTable(
        [
          L("Run"),
          R("Wall (s)"),
          R("Machine busy"),
          R("Steal"),
          R("This process"),
          R("PostgreSQL"),
          R("nats-server"),
          R("Other"),
          R("Event loop busy"),
          R("Process CPU / msg (ms)"),
          R("Machine CPU / msg (ms)"),
        ],
        runs.map((run) => {
          const perMessage = (cores: number) => ms((cores * run.wallSeconds * 1000) / run.accepted);
          return [
            runName(run),
            num(run.wallSeconds, 1),
            num(run.machine.machineBusyCores, 2),
            num(run.machine.stealCores, 2),
            num(run.cpuCores, 2),
            num(run.machine.cores.PostgreSQL, 2),
            num(run.machine.cores["nats-server"], 2),
            num(run.machine.cores.other, 2),
            percent(run.eventLoopUtilization),
            perMessage(run.cpuCores),
            perMessage(run.machine.machineBusyCores),
          ];
        }),
      ),
      "",
      runs.every((run) => run.sensitiveRelayed === 0)
        ? "No message of a `finance`-labelled conversation reached the receiver in any run."
        : `**Messages of \`finance\`-labelled conversations reached the receiver**: ${runs
            .map((run) => `${runName(run)}: ${run.sensitiveRelayed}`)
            .join("; ")}.`,
      "",
    );
    const brokerLog = report.e2e?.brokerLog;
    if (brokerLog && brokerLog.warnings + brokerLog.errors > 0) {
      push(
        `The broker logged ${brokerLog.warnings} warnings and ${brokerLog.errors} errors during part 2; the first`,
        "distinct ones:",
        "",
        ...brokerLog.samples.map((s) => `- ${s.replaceAll("\n", " ")}`),
        "",
      );
    } else if (brokerLog) {
      push("The broker logged no warnings or errors during part 2.", "");
    }
  } else {
    push(
      e2e.httpConcurrency.length === 0 && e2e.natsInFlight === 0
        ? "No end-to-end run was asked for (`BENCH_CONCURRENCY=0`, `BENCH_NATS_INFLIGHT=0`)."
        : "No end-to-end run completed (see the errors above).",
      "",
    );
  }

  // Part 3
  push(
    "## 3. Classification",
    "",
    `The default policy (\`policies/default.yaml\`${report.classify ? `, version \`${report.classify.policyVersion}\`` : ""})`,
    "loaded with `loadPolicyFile` and called as `policy.evaluate({conversation, message})` in a loop on the main",
    "thread (one core), after a warm-up, over 64 different texts made of ordinary office chat sentences",
    "(times, amounts, ticket numbers, a URL, an e-mail address, a phone number; nothing that should make a",
    "conversation sensitive). Nothing else runs: no PostgreSQL, no NATS.",
    "",
  );
  if (report.classify) {
    push(
      markdownTable(
        [
          L("Text"),
          R("Text size (bytes)"),
          L("Conversation"),
          R("Evaluations"),
          R("Messages/s"),
          R("Text (MiB/s)"),
          R("Sensitive"),
          R("Errors"),
        ],
        report.classify.results.map((r) => [
          r.label,
          num(r.textBytes),
          r.conversation,
          num(r.evaluations),
          rate(r.msgsPerSecond),
          num(r.mbPerSecond, r.mbPerSecond >= 100 ? 0 : 1),
          num(r.sensitive),
          num(r.errors),
        ]),
      ),
      "",
      ...classifyNotes(report.classify.results),
    );
  } else {
    push("Not measured in this run (see the errors above).", "");
  }
  if (report.detectorCost) push(...detectorCostSection(report.detectorCost));

  // Part 4
  push(
    "## 4. Memory",
    "",
    "Resident set size (`process.memoryUsage().rss`) of this process, sampled around the end-to-end runs.",
    "The broker runs in-process, so the figures include the bench itself: the load generator, the webhook",
    "receiver (which keeps every delivery it accepted, about one copy of each relayed message) and",
    "what parts 1 and 2 left on the heap.",
    "",
  );
  const memory = report.e2e?.memory ?? [];
  if (memory.length > 0) {
    const first = memory[0]?.rssBytes ?? 0;
    push(
      markdownTable(
        [L("When"), R("RSS (MiB)"), R("Change since first sample (MiB)"), R("V8 heap used (MiB)")],
        memory.map((m) => [
          m.when,
          num(m.rssBytes / MiB, 1),
          num((m.rssBytes - first) / MiB, 1),
          num(m.heapUsedBytes / MiB, 1),
        ]),
      ),
      "",
    );
  } else {
    push("Not sampled in this run (see the errors above).", "");
  }

  // Part 5
  const cli = settings.cli;
  push(
    "## 5. `watershed classify` on a stream of lines",
    "",
    "The real command line, `node --import tsx broker/cli/main.ts classify --policy policies/default.yaml` run in",
    "the repository, as a child process. The bench writes generated JSON lines into its stdin, 256 lines per",
    "write, waiting for `drain` whenever the pipe is full (back-pressure), and reads its stdout line by line,",
    "checking each line's zone: on-prem when the line holds a card number or its conversation held one on an",
    `earlier line (stickiness), the cloud otherwise. Each line belongs to one of ${num(cli.conversations)} conversation ids`,
    `chosen at random; ${cli.cardPercent} % hold a Luhn-valid card number in a sentence, the rest are ordinary chat of`,
    "40 to 300 bytes (the sentences of part 3). So nearly every conversation turns sensitive early and most",
    "lines are decided by stickiness, while the CLI remembers only the ids that turned sensitive. `VmRSS` and",
    "`VmHWM` are read from `/proc/<pid>/status` every 200 ms. The bench generates and reads the lines in this",
    "process at the same time, on the same cores.",
    "",
  );
  if (report.classifyCli) {
    push(...classifyCliSection(report.classifyCli));
  } else {
    push(
      cli.lines === 0
        ? "Not asked for in this run (`BENCH_CLASSIFY_LINES=0`)."
        : "Not measured in this run (see the errors above).",
      "",
    );
  }

  // Part 6
  const upload = settings.upload;
  push(
    `## 6. A ${num(upload.sizeMiB)} MiB upload`,
    "",
    "The helper of the streaming test `test/integration/files-memory.test.ts` (`test/helpers/upload-memory.ts`):",
    "for each file store, a broker started as a child process the way `npm start` runs it (`watershed start`,",
    "`--max-semi-space-size=2`) on a fresh database and stream prefix, keeping file bytes in the NATS JetStream",
    "object store or in an S3 store (s3rver, running in the bench process, so its memory is not the broker's).",
    `The bench POSTs a generated file of ${num(upload.sizeMiB)} MiB to \`/v1/conversations/{id}/files\` as one`,
    "streamed request with its `content-length`, made on the fly in 1 MiB chunks and never held. _RSS before_",
    "is the broker's `VmRSS` just before the upload; _peak RSS_ is its `VmHWM` after the answer, read from",
    "`/proc/<pid>/status`: the highest resident memory over the process's whole life, start-up included. A file",
    "over `files.inspectMaxBytes` (50 MiB by default) is not read for text, so this measures the streaming",
    `path. Time runs from the first byte sent to the answer (201). The test holds the peak under ${uploadLimitText}.`,
    "",
  );
  if (report.upload && report.upload.rows.length > 0) {
    push(...uploadSection(report.upload.rows));
  } else {
    push(
      upload.sizeMiB === 0
        ? "Not asked for in this run (`BENCH_UPLOAD_MIB=0`)."
        : "Not measured in this run (see the errors above).",
      "",
    );
  }
  return `${out.join("\n").trimEnd()}\n`;
}

// Anything left open (a socket, a timer) would keep the process alive after the report is written:
// say so and leave, rather than hang.
main()
  .catch((error: unknown) => {
    console.error("bench failed:", error);
    process.exitCode = 1;
  })
  .finally(() => {
    setTimeout(() => {
      console.error("bench: something kept the process alive 10 s after the end; exiting");
      process.exit(process.exitCode ?? 0);
    }, 10_000).unref();
  });
