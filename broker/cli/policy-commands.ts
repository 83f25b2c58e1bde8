// `watershed policy …` and `watershed classify`: tools for security teams. They call the same
// parser and evaluator as the broker.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { compilePolicyText, formatExplanation, runPolicyTests, type Policy } from "../../policies/index.ts";
import { openPool } from "../db/pool.ts";
import { countHistory, replayHistory, type ReplayReport } from "../policy/replay.ts";
import { classifyStream } from "./classify.ts";
import { progressBar } from "./progress.ts";
import type { Config } from "../config/index.ts";

/** A failure the user caused (bad file, failing tests): printed as is, exit code 1. */
export class CommandError extends Error {
  override name = "CommandError";
}

/** The policy file, with an unreadable file named as such (the parser names the rest). */
async function readPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new CommandError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return compilePolicyText(text, path);
}

/** Parses "7d", "12h", "30m" or an ISO date into the start of the window. */
export function parseSince(value: string, now = Date.now()): Date {
  const relative = /^(\d+)([dhm])$/.exec(value);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as "d" | "h" | "m"];
    return new Date(now - Number(relative[1]) * unit);
  }
  // Only an ISO date: `new Date("7")` would read a forgotten unit as July 2001.
  const date = /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
    ? new Date(value)
    : new Date(NaN);
  if (Number.isNaN(date.getTime()))
    throw new CommandError(`--since: expected e.g. 7d, 12h, 30m or an ISO date, got '${value}'`);
  return date;
}

function formatReplay(report: ReplayReport): string {
  const lines = [
    `candidate ${report.candidateVersion}: ${report.messages} messages in ${report.conversations} conversations` +
      (report.since ? ` since ${report.since}` : ""),
    `${report.changed} would change zone`,
  ];
  for (const [change, n] of Object.entries(report.byChange)) lines.push(`  ${change}: ${n}`);
  if (Object.keys(report.byRule).length > 0) {
    lines.push("by rule:");
    for (const [rule, n] of Object.entries(report.byRule).sort((a, b) => b[1] - a[1]))
      lines.push(`  ${rule}: ${n}`);
  }
  if (report.changedConversations.length > 0) {
    lines.push("conversations:");
    for (const c of report.changedConversations.slice(0, 20))
      lines.push(`  ${c.conversationId} ${JSON.stringify(c.title)}: ${c.changed}`);
  }
  lines.push("nothing was changed");
  return lines.join("\n");
}

export function registerPolicyCommands(
  program: Command,
  loadConfig: (path: string | undefined) => Promise<Config>,
): void {
  const policy = program.command("policy").description("write, check and roll out routing policies");

  policy
    .command("validate")
    .argument("<file>", "policy file (YAML)")
    .description("check a policy file; errors name the file, line, column and field")
    .action(async (file: string) => {
      const compiled = await readPolicyFile(file);
      console.log(`${file}: valid (version ${compiled.version})`);
    });

  policy
    .command("test")
    .argument("<dir>", "folder with policies and their *.tests.yaml files")
    .description("run the test cases written next to the policies, like `opa test`")
    .action(async (dir: string) => {
      const report = await runPolicyTests(dir);
      for (const c of report.cases) {
        console.log(`${c.passed ? "PASS" : "FAIL"} ${c.file}: ${c.name}`);
        if (!c.passed) console.log(c.diff.replace(/^/gm, "    "));
      }
      console.log(`${report.passed} passed, ${report.failed} failed`);
      if (report.failed > 0 || report.cases.length === 0) {
        throw new CommandError(
          report.cases.length === 0 ? `no test cases found in ${dir}` : `${report.failed} failed`,
        );
      }
    });

  policy
    .command("explain")
    .requiredOption("--policy <file>", "policy file")
    .requiredOption("--text <text>", "the message text")
    .option("--labels <labels>", "comma-separated conversation labels", "")
    .option("--title <title>", "conversation title", "")
    .option("--roles <roles>", "comma-separated sender roles", "")
    .option("--sensitive", "the conversation is already sensitive", false)
    .description("show every rule and detector that fired or did not, and why")
    .action(
      async (options: {
        policy: string;
        text: string;
        labels: string;
        title: string;
        roles: string;
        sensitive: boolean;
      }) => {
        const compiled = await readPolicyFile(options.policy);
        const list = (value: string) =>
          value
            .split(",")
            .map((v) => v.trim())
            .filter(Boolean);
        const explanation = compiled.explain({
          conversation: {
            id: "cli",
            title: options.title,
            labels: list(options.labels),
            members: [],
            externalParticipants: false,
            bindings: [],
            sensitive: options.sensitive,
          },
          message: { id: "cli", sender: { id: "cli", roles: list(options.roles) }, text: options.text },
        });
        console.log(formatExplanation(explanation));
      },
    );

  policy
    .command("replay")
    .requiredOption("--policy <file>", "candidate policy file")
    .option("--since <window>", "only messages accepted since then: 7d, 12h, 30m or an ISO date")
    .option("--json", "print the report as JSON", false)
    .option("-c, --config <file>", "config file (for the database)")
    .description(
      "re-evaluate stored history with a candidate policy; reports what would change zone, changes nothing",
    )
    .action(async (options: { policy: string; since?: string; json: boolean; config?: string }) => {
      const candidate = await readPolicyFile(options.policy);
      const since = options.since === undefined ? null : parseSince(options.since);
      const { postgres } = await loadConfig(options.config);
      const pool = await openPool(postgres.url, 2);
      try {
        const total = await countHistory(pool, since);
        const bar = progressBar(process.stderr, total, "replaying");
        const report = await replayHistory(pool, candidate, { since, onProgress: bar.update });
        bar.done();
        console.log(options.json ? JSON.stringify(report, null, 2) : formatReplay(report));
      } finally {
        await pool.end();
      }
    });

  program
    .command("classify")
    .requiredOption("--policy <file>", "policy file")
    .description(
      "classify JSON lines from stdin; one decision per line on stdout, sticky per conversation id",
    )
    .action(async (options: { policy: string }) => {
      const compiled = await readPolicyFile(options.policy);
      const report = await classifyStream(compiled, process.stdin, process.stdout);
      if (report.errors > 0)
        throw new CommandError(`${report.errors} of ${report.lines} lines could not be read`);
    });
}
