// The report's part 3 (classification: the default policy alone, what custom detectors cost, and
// the policy next to other detection engines) and part 7 (`watershed classify` on a stream).
import type { ClassifyCliResult, ClassifyCliSettings, RssSample } from "./classify-cli.ts";
import { customDetectorsForBench, type ClassifyResult, type DetectorCostResult } from "./classify.ts";
import type { EnginesResult } from "./engines.ts";
import { L, markdownTable, mib, MiB, ms, num, percent, R, rate } from "./util.ts";

export interface ClassifySettingsUsed {
  durationMs: number;
  shortBytes: number;
  largeBytes: number;
}

export interface ClassifyReport {
  classify: { policyVersion: string; results: ClassifyResult[] } | null;
  detectorCost: DetectorCostResult | null;
  engines: EnginesResult | null;
  classifyCli: ClassifyCliResult | null;
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

function usText(us: number): string {
  return num(us, Math.abs(us) >= 10 ? 1 : 2);
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

function detectorCostSection(cost: DetectorCostResult, c: ClassifySettingsUsed): string[] {
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

function classifyCliTable(cli: ClassifyCliResult): string[] {
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

/** Summary lines of parts 3 and 7. */
export function classifySummary(report: ClassifyReport, c: ClassifySettingsUsed): string[] {
  const lines: string[] = [];
  const fastest = report.classify?.results[0];
  if (fastest) {
    lines.push(
      `- Classification with the default policy: ${rate(fastest.msgsPerSecond)} short messages/s on one core, ` +
        "far from the limit of anything above.",
    );
  }
  const engines = report.engines;
  if (engines) {
    const short = engines.speed.filter((s) => s.textBytes === c.shortBytes);
    const policy = short[0];
    const others = short.slice(1);
    if (policy && others.length > 0) {
      lines.push(
        `- Next to other engines, ${c.shortBytes}-byte messages per second: ` +
          [policy, ...others].map((s) => `${s.engine.split(" (")[0]} ${rate(s.msgsPerSecond)}`).join("; ") +
          ". On the labelled sample, flagged right / wrong / missed: " +
          engines.accuracy
            .map((a) => `${a.engine.split(" (")[0]} ${a.truePositives} / ${a.falsePositives} / ${a.missed}`)
            .join("; ") +
          ".",
      );
    }
  }
  const cost = report.detectorCost;
  if (cost && cost.rows.length > 1) {
    lines.push(
      `- Custom detectors: each one added to the default policy costs about ` +
        `**${usText(cost.shortUsPerDetector)} µs of CPU per short message** and makes a ` +
        `${num(c.largeBytes / 1024)} KiB text **${percent(cost.largeSlowdownPerDetector)} slower** ` +
        `to classify (fitted over ${cost.rows.map((r) => r.detectors).join(", ")} detectors).`,
    );
  }
  const cli = report.classifyCli;
  if (cli && cli.outputLines > 0) {
    const { atTenPercent, lastStreaming, peakBytes } = rssMarks(cli);
    lines.push(
      `- \`watershed classify\` on ${num(cli.lines)} JSON lines through a pipe: **${rate(cli.linesPerSecond)} lines/s** ` +
        `(${num(cli.seconds, 1)} s in all, with ${num(cli.startupSeconds, 1)} s of start-up); RSS ` +
        `${mib(atTenPercent?.rssBytes)} MiB after 10 % of the lines, ${mib(lastStreaming?.rssBytes)} MiB near ` +
        `the end, peak ${mib(peakBytes)} MiB` +
        (cli.outputLines === cli.lines ? "." : `; **${num(cli.outputLines)} output lines**.`),
    );
  }
  return lines;
}

/** Part 3. */
export function classifySection(report: ClassifyReport, c: ClassifySettingsUsed, asked: boolean): string[] {
  const out = [
    "## 3. Classification",
    "",
    `The default policy (\`policies/default.yaml\`${report.classify ? `, version \`${report.classify.policyVersion}\`` : ""})`,
    "loaded with `loadPolicyFile` and called as `policy.evaluate({conversation, message})` in a loop on the main",
    "thread (one core), after a warm-up, over 64 different texts made of ordinary office chat sentences",
    "(times, amounts, ticket numbers, a URL, an e-mail address, a phone number; nothing that should make a",
    "conversation sensitive). Nothing else runs: no PostgreSQL, no NATS.",
    "",
  ];
  if (!asked) return [...out, "Not asked for in this run (`BENCH_PARTS`).", ""];
  if (report.classify) {
    out.push(
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
    out.push("Not measured in this run (see the errors above).", "");
  }
  if (report.engines) out.push(...enginesSection(report.engines, c));
  if (report.detectorCost) out.push(...detectorCostSection(report.detectorCost, c));
  return out;
}

function enginesSection(engines: EnginesResult, c: ClassifySettingsUsed): string[] {
  const out = [
    "### Next to other detection engines",
    "",
    "The same policy next to [openredaction](https://www.npmjs.com/package/openredaction) (regular expressions",
    "and validators in plain JavaScript, no model, no network; `enableLearning: false` so it writes nothing),",
    "once with its defaults and once without its name and address detection, which fires on ordinary",
    "sentences, and next to [redact-pii](https://www.npmjs.com/package/redact-pii) with its built-in",
    "patterns (its Google Cloud DLP mode needs the network; a text counts as flagged when its redaction",
    "differs from it). Each engine gets the same 64 texts in the same process, one after the other, for",
    `${num(c.durationMs)} ms per case after a short warm-up; openredaction's \`detect\` is asynchronous and is`,
    "awaited one text at a time. _Messages/s_ and _MiB/s_ are per wall-clock second on one core.",
    "",
    markdownTable(
      [L("Engine"), L("Text"), R("Text size (bytes)"), R("Evaluations"), R("Messages/s"), R("Text (MiB/s)")],
      engines.speed.map((s) => [
        s.engine,
        s.text,
        num(s.textBytes),
        num(s.evaluations),
        rate(s.msgsPerSecond),
        num(s.mbPerSecond, s.mbPerSecond >= 100 ? 0 : s.mbPerSecond >= 1 ? 1 : 3),
      ]),
    ),
    "",
  ];
  const policySpeed = engines.speed.filter((s) => s.engine === engines.engines[0]);
  const ratios = policySpeed.map((p) => {
    const others = engines.engines.slice(1).flatMap((name) => {
      const other = engines.speed.find((s) => s.engine === name && s.textBytes === p.textBytes);
      return other ? [`${num(p.msgsPerSecond / other.msgsPerSecond, 0)} times ${name}`] : [];
    });
    return `on ${p.text}s ${others.join(" and ")}`;
  });
  if (engines.engines.length > 1 && ratios.length > 0) {
    out.push(`Messages per second, the default policy against the others: ${ratios.join("; ")}.`, "");
  }
  const sample = engines.sample;
  out.push(
    `The labelled sample (\`test/bench/labelled-sample.ts\`, made in code): ${sample.sensitive} messages holding`,
    "data the default policy keeps on-prem (card numbers, resident IDs and IBANs with valid check digits, US",
    `SSNs, a passport number, secrets), ${sample.personal} holding personal contact data it reports but lets through`,
    `(e-mail addresses, phone numbers), and ${sample.ordinary} ordinary messages, some with numbers that look like the`,
    "others but fail their check digits. _Flagged_ is a message with at least one detection; a flag is",
    "_right_ on the first two kinds and _wrong_ on ordinary text.",
    "",
    markdownTable(
      [L("Engine"), R("Flagged"), R("Right"), R("Wrong"), R("Missed"), L("Missed"), L("Flagged wrongly")],
      engines.accuracy.map((a) => [
        a.engine,
        num(a.flagged),
        num(a.truePositives),
        num(a.falsePositives),
        num(a.missed),
        a.missedKinds.join(", ") || "-",
        a.falseKinds.join(", ") || "-",
      ]),
    ),
    "",
  );
  const policy = engines.accuracy.find((a) => a.sensitive !== undefined);
  if (policy?.sensitive) {
    const s = policy.sensitive;
    out.push(
      `Of the ${sample.sensitive} messages labelled to stay on-prem, the default policy found ${num(s.truePositives)} ` +
        `sensitive and missed ${num(s.missed)}; it found ${num(s.falsePositives)} other messages sensitive. ` +
        "The other engines only find and redact; what to keep on-prem would be up to their caller.",
      "",
    );
  }
  return out;
}

/** Part 7. */
export function classifyCliSection(
  cliResult: ClassifyCliResult | null,
  cli: ClassifyCliSettings,
  asked: boolean,
): string[] {
  const out = [
    "## 7. `watershed classify` on a stream of lines",
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
  ];
  if (cliResult) return [...out, ...classifyCliTable(cliResult)];
  return [
    ...out,
    !asked || cli.lines === 0
      ? "Not asked for in this run (`BENCH_CLASSIFY_LINES=0` or `BENCH_PARTS`)."
      : "Not measured in this run (see the errors above).",
    "",
  ];
}
