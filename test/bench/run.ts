// `npm run bench`: the raw limits of the local NATS and PostgreSQL, the broker end to end (child
// processes, fake Slack as the cloud), classification next to other engines, a broker's memory over
// a long run, one and two broker processes, a large upload, `watershed classify` on a stream, and a
// CPU profile of a broker under load; then docs/benchmarks.md. Every comparison is measured in this
// one run. Nothing here asserts a speed; a part that fails is reported and the rest runs.
import { writeFile } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { benchClassifyCli } from "./classify-cli.ts";
import { benchClassification, benchDetectorCost } from "./classify.ts";
import { benchEndToEnd } from "./end-to-end.ts";
import { benchEngines } from "./engines.ts";
import { benchUpload } from "./files.ts";
import { benchMemory } from "./memory.ts";
import { benchProfile } from "./profile.ts";
import { benchJetStream, benchPostgres } from "./raw.ts";
import { render, type Report } from "./report.ts";
import { benchScale } from "./scale.ts";
import { Part, settings } from "./settings.ts";
import { randomPrefix } from "../helpers/services.ts";
import { errorText, num, rate } from "./util.ts";

const outputPath =
  process.env.BENCH_OUTPUT ?? fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url));

function log(line: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

const titles: Record<Part, string> = {
  [Part.raw]: "Raw limits",
  [Part.endToEnd]: "Broker end to end",
  [Part.classify]: "Classification",
  [Part.memory]: "Memory",
  [Part.scale]: "Scale",
  [Part.upload]: "A large upload",
  [Part.classifyCli]: "`watershed classify` on a stream of lines",
  [Part.profile]: "Profile of the hot path",
};

/** Parts in the order they run: the long memory run after the short ones, the profile last. */
const order: Part[] = [
  Part.raw,
  Part.endToEnd,
  Part.classify,
  Part.scale,
  Part.classifyCli,
  Part.upload,
  Part.memory,
  Part.profile,
];

async function main(): Promise<void> {
  const started = performance.now();
  const report: Report = {
    startedAt: new Date(),
    loadAtStart: loadavg(),
    loadAtEnd: [],
    seconds: 0,
    parts: [],
    natsVersion: "unknown",
    postgresVersion: "unknown",
    jetstream: null,
    postgres: null,
    e2e: null,
    classify: null,
    detectorCost: null,
    engines: null,
    memory: null,
    scale: null,
    upload: null,
    classifyCli: null,
    profile: null,
    errors: [],
  };
  // An error nobody listened for (a socket of a helper closing late) is noted, not fatal: the run
  // goes on and the report says so, rather than losing a quarter of an hour of figures.
  process.on("uncaughtException", (error) => {
    log(`uncaught: ${errorText(error)}`);
    report.errors.push(`Uncaught in the bench process: ${errorText(error)}`);
  });
  const [load1] = loadavg();
  if ((load1 ?? 0) > 0.5 * availableParallelism()) {
    log(
      `the machine is busy (load average ${num(load1 ?? 0, 2)}): expect lower figures than on a quiet machine`,
    );
  }
  const s = settings;
  const runs: Record<Part, () => Promise<void>> = {
    [Part.raw]: async () => {
      try {
        const result = await benchJetStream({
          prefix: randomPrefix(),
          messages: s.raw.messages,
          messageBytes: s.raw.bytes,
          inFlight: s.raw.inFlight,
        });
        report.jetstream = result.results;
        report.natsVersion = result.serverVersion;
        for (const r of result.results) log(`  ${r.label}: ${rate(r.msgsPerSecond)} msgs/s`);
      } catch (error) {
        report.errors.push(`Part 1, JetStream: ${errorText(error)}`);
      }
      try {
        report.postgres = await benchPostgres({
          rows: s.raw.rows,
          rowBytes: s.raw.bytes,
          batch: s.raw.batch,
        });
        report.postgresVersion = report.postgres.serverVersion;
        log(`  PostgreSQL: ${rate(report.postgres.rowsPerSecond)} rows/s`);
      } catch (error) {
        report.errors.push(`Part 1, PostgreSQL: ${errorText(error)}`);
      }
    },
    [Part.endToEnd]: async () => {
      report.e2e = await benchEndToEnd(s.e2e, log);
      report.errors.push(...report.e2e.errors.map((e) => `Part 2: ${e}`));
      for (const run of report.e2e.runs) {
        const offered = run.spec.ratePerSecond === null ? "max" : `${run.spec.ratePerSecond}/s`;
        report.errors.push(...run.errors.map((e) => `Part 2, ${run.spec.path} at ${offered}: ${e}`));
      }
    },
    [Part.classify]: async () => {
      report.classify = await benchClassification(s.classify);
      report.engines = await benchEngines(s.classify);
      if (s.classify.customDetectors.length > 0) {
        report.detectorCost = await benchDetectorCost({ ...s.classify, counts: s.classify.customDetectors });
        report.errors.push(...report.detectorCost.errors.map((e) => `Part 3, custom detectors: ${e}`));
      }
    },
    [Part.memory]: async () => {
      report.memory = await benchMemory(s.memory, log);
      report.errors.push(...report.memory.errors.map((e) => `Part 4: ${e}`));
    },
    [Part.scale]: async () => {
      report.scale = await benchScale(s.scale, log);
      report.errors.push(...report.scale.errors.map((e) => `Part 5: ${e}`));
      for (const run of report.scale.runs) {
        report.errors.push(
          ...run.errors.map((e) => `Part 5, ${run.brokers} broker(s), ${run.spec.path}: ${e}`),
        );
      }
    },
    [Part.upload]: async () => {
      if (s.upload.sizeMiB === 0) return;
      report.upload = await benchUpload(s.upload);
      report.errors.push(...report.upload.errors.map((e) => `Part 6: ${e}`));
    },
    [Part.classifyCli]: async () => {
      if (s.cli.lines === 0) return;
      report.classifyCli = await benchClassifyCli(s.cli);
      report.errors.push(...report.classifyCli.errors.map((e) => `Part 7: ${e}`));
    },
    [Part.profile]: async () => {
      report.profile = await benchProfile(s.profile, log);
      report.errors.push(...report.profile.errors.map((e) => `Part 8: ${e}`));
    },
  };
  for (const part of order) {
    if (!s.parts.has(part)) continue;
    const loadAtStart = loadavg();
    log(`part ${part}: ${titles[part]} (load average ${num(loadAtStart[0] ?? 0, 2)})`);
    const partStarted = performance.now();
    try {
      await runs[part]();
    } catch (error) {
      report.errors.push(`Part ${part}: ${errorText(error)}`);
    }
    report.parts.push({
      part,
      title: titles[part],
      seconds: (performance.now() - partStarted) / 1000,
      loadAtStart,
    });
  }
  report.seconds = (performance.now() - started) / 1000;
  report.loadAtEnd = loadavg();
  await writeFile(outputPath, render(report, s));
  log(`wrote ${outputPath} after ${num(report.seconds, 0)} s`);
  for (const error of report.errors) console.error(`  error: ${error}`);
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
