// docs/reliability.md from the results of one run of the fault suite.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import type { Scenario, ScenarioResult } from "./harness.ts";

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  node: string;
  natsServer: string;
  postgres: string;
  /** 1, 5 and 15 minute load averages. */
  loadAtStart: number[];
  loadAtEnd: number[];
}

function firstLine(file: string, args: string[]): string {
  try {
    return execFileSync(file, args, { encoding: "utf8" }).split("\n")[0]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

export function machineFacts(
  natsServer: string,
  postgresBin: string,
): Omit<MachineFacts, "loadAtStart" | "loadAtEnd"> {
  let cpuModel = "unknown";
  try {
    cpuModel =
      /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  } catch {
    // No /proc: leave it unknown.
  }
  return {
    cores: availableParallelism(),
    cpuModel,
    node: process.version,
    natsServer: firstLine(natsServer, ["--version"]),
    postgres: firstLine(`${postgresBin}/postgres`, ["--version"]),
  };
}

interface Column {
  title: string;
  right?: boolean;
}
const L = (title: string): Column => ({ title });
const R = (title: string): Column => ({ title, right: true });

/** A Markdown table padded as Prettier pads one, numbers right-aligned. */
function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|").replaceAll("\n", " ");
  const cells = [columns.map((c) => escape(c.title)), ...rows.map((row) => row.map(escape))];
  const widths = columns.map((_, i) => Math.max(3, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: readonly string[]) =>
    `| ${columns.map((c, i) => (c.right ? (row[i] ?? "").padStart(widths[i] ?? 3) : (row[i] ?? "").padEnd(widths[i] ?? 3))).join(" | ")} |`;
  const rule = `| ${columns.map((c, i) => (c.right ? `${"-".repeat((widths[i] ?? 3) - 1)}:` : "-".repeat(widths[i] ?? 3))).join(" | ")} |`;
  return [line(cells[0] ?? []), rule, ...cells.slice(1).map(line)].join("\n");
}

const count = (n: number | undefined) => (n === undefined ? "n/a" : n.toLocaleString("en"));

export interface ReportInput {
  command: string;
  startedAt: Date;
  durationSeconds: number;
  machine: MachineFacts;
  scenarios: ReadonlyArray<{ scenario: Scenario; result: ScenarioResult }>;
}

export function reliabilityMarkdown(input: ReportInput): string {
  const { machine } = input;
  const passed = input.scenarios.filter(({ result }) => result.ok).length;
  const failed = input.scenarios.length - passed;
  const lines: string[] = [
    "# Reliability under faults",
    "",
    "Written by `npm run test:faults` (`test/faults/run.ts`); every figure below comes from the one run described",
    "here. Each scenario starts its own nats-server and PostgreSQL on free loopback ports (never the shared ones),",
    "runs the broker as a child process (`watershed start`) with the fake Slack (`test/fakes/slack/`) as the cloud,",
    "sends messages over HTTP while it injects its faults, waits for the broker to drain, then reads PostgreSQL",
    "and the fake Slack. Rerun the command to refresh this page.",
    "",
    markdownTable(
      [L("Run"), L("Value")],
      [
        ["Date", input.startedAt.toISOString()],
        ["Command", `\`${input.command}\``],
        ["CPU cores (`nproc`)", String(machine.cores)],
        ["CPU model", machine.cpuModel],
        ["Node.js", machine.node],
        ["nats-server", machine.natsServer],
        ["PostgreSQL", machine.postgres],
        ["Duration of the whole run", `${Math.round(input.durationSeconds)} s`],
        ["Load average (1, 5, 15 min) at the start", machine.loadAtStart.map((n) => n.toFixed(2)).join(", ")],
        ["Load average (1, 5, 15 min) at the end", machine.loadAtEnd.map((n) => n.toFixed(2)).join(", ")],
        ["Result", `${passed} passed, ${failed} failed`],
      ],
    ),
    "",
    "## Faults and figures",
    "",
    "A message is **acknowledged** when its sender got HTTP 202; senders retry each message with the same",
    "`clientMsgId` until they do. The suite fails a scenario when any of the next five columns is not 0:",
    "",
    "- **Lost on-prem**: acknowledged, but not in PostgreSQL's `messages` table.",
    "- **Lost in cloud**: acknowledged in a normal conversation, but not posted in its Slack channel.",
    "- **Duplicates in cloud**: Slack posts beyond the first of one message (the same Watershed message id in the",
    "  post's metadata `event_payload.message_id`, or the same text).",
    "- **Sensitive seen by cloud**: posts of a `finance` conversation in Slack, and Web API calls with content",
    "  (chat, files, reactions) that named one of their channels, answered or not.",
    "- **Order violations**: neighbouring messages of one conversation found in the opposite order to their",
    "  acknowledgements, in the on-prem history (by INGRESS sequence) and in the Slack channel.",
    "",
    "**Broker exits** counts broker processes that ended without being told to (a supervisor would restart them,",
    "and so does the suite); **Duration** is the whole scenario, services and broker start included.",
    "",
    markdownTable(
      [
        L("Scenario"),
        L("Fault"),
        R("Acknowledged"),
        R("Lost on-prem"),
        R("Lost in cloud"),
        R("Duplicates in cloud"),
        R("Sensitive seen by cloud"),
        R("Order violations"),
        R("Broker exits"),
        R("Duration (s)"),
        L("Result"),
      ],
      input.scenarios.map(({ scenario, result }) => [
        scenario.name,
        result.fault,
        count(result.report?.acknowledged),
        count(result.report?.lostOnPrem),
        count(result.report?.lostInCloud),
        count(result.report?.duplicatesInCloud),
        count(result.report?.sensitiveInCloud),
        count(result.report?.orderViolations),
        count(result.brokerExits.length),
        result.timings.totalSeconds.toFixed(0),
        result.ok ? "pass" : result.error ? "crashed" : "FAIL",
      ]),
    ),
    "",
    "## The scenarios",
    "",
  ];
  for (const { scenario, result } of input.scenarios) {
    lines.push(`### ${scenario.name}`, "", scenario.description, "");
    const failures = Object.entries(result.workload?.failures ?? {})
      .sort((a, b) => b[1] - a[1])
      .map(([kind, n]) => `${kind}: ${count(n)}`)
      .join(", ");
    const retries = !result.workload
      ? "the workload did not finish"
      : result.workload.retries === 0
        ? "every message was acknowledged at its first try"
        : `${count(result.workload.retries)} tries were answered otherwise and repeated (${failures})`;
    lines.push(
      `In this run: sending took ${result.timings.sendSeconds.toFixed(0)} s and draining ` +
        `${result.timings.drainSeconds.toFixed(0)} s more${result.drained ? "" : " (**not drained** by the deadline)"}; ` +
        `${retries}. Dead letters at the end: ${count(result.report?.deadLettered)}; stored messages no sender ` +
        `was acknowledged for: ${count(result.report?.unexpectedOnPrem)}.`,
      "",
    );
    if (result.timeline.length > 0) {
      lines.push("Timeline (seconds from the first message sent):", "");
      for (const entry of result.timeline) lines.push(`- ${entry}`);
      lines.push("");
    }
    if (result.error)
      lines.push(
        "The scenario crashed:",
        "",
        "```",
        result.error.split("\n").slice(0, 8).join("\n"),
        "```",
        "",
      );
    if ((result.report?.examples.length ?? 0) > 0) {
      lines.push("First problems found:", "");
      for (const example of result.report?.examples ?? []) lines.push(`- ${example}`);
      lines.push("");
    }
    for (const exit of result.brokerExits) {
      lines.push(
        `Broker exit at ${exit.at.toFixed(1)} s (code ${exit.code ?? "none"}, signal ${exit.signal ?? "none"}).`,
        "",
      );
    }
    const logged = Object.entries(result.brokerLog).sort((a, b) => b[1] - a[1]);
    if (logged.length > 0) {
      lines.push("What the brokers logged at warn and error level, by kind:", "");
      for (const [kind, n] of logged.slice(0, 8)) lines.push(`- ${count(n)} × ${kind.replaceAll("`", "'")}`);
      if (logged.length > 8) lines.push(`- and ${logged.length - 8} more kinds of line`);
      lines.push("");
    }
  }
  lines.push(
    "## What this does not cover",
    "",
    "- A crash of a lone nats-server. Scenario `nats-sigkill`, not in the default run",
    "  (`FAULTS=nats-sigkill npm run test:faults`), SIGKILLs it three times. On nats-server 2.9.10 a consumer",
    "  sometimes comes back waiting for the ack of a message its work-queue stream no longer holds; with",
    "  `max_ack_pending: 1` it never delivers again, and that partition's messages stay in INGRESS or RELAY,",
    "  unrouted or unrelayed. This looks like nats-io/nats-server#6374, reported against 2.10.24 (the version",
    "  `deploy/compose.yaml` runs) and fixed by nats-io/nats-server#6387 in January 2025. Without",
    "  `sync_interval: always` (2.10 and later; `deploy/nats/nats-server.conf` sets it) a crash may also lose",
    "  what the server acknowledged but had not written. In the cluster scenario a node is SIGKILLed, and the",
    "  other replicas keep what it acknowledged.",
    "- Power loss, of any server.",
    "- The black hole holds bytes and delivers them when it ends, as TCP does after a short outage; a path that",
    "  stays dark until the kernel gives up on the connection is not simulated.",
    "- One broker process at a time; files, edits, deletes and reactions are not part of the workload.",
    "",
  );
  return lines.join("\n");
}
