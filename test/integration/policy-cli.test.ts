// The policy tools of the `watershed` command line, run for real as child processes:
// `policy validate`, `policy test`, `policy explain`, `classify` (including a 200,000-line stream
// under a memory ceiling) and `policy replay` against a PostgreSQL database of its own.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import {
  assertExit,
  cliArgs,
  cliEnv,
  describeRun,
  repoRoot,
  runCli,
  type CliResult,
} from "../helpers/cli.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/services.ts";

const defaultPolicy = "policies/default.yaml";
const card = "4111 1111 1111 1111";

function outputLines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "watershed-policy-cli-"));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("watershed policy validate", { concurrency: true }, () => {
  const reason = "    reason: Kept on-prem.\notherwise: { outcome: normal, reason: Nothing matched. }\n";

  /** Writes `text` as `<name>.yaml`, validates it and returns the file name and the run. */
  async function validate(name: string, text: string): Promise<{ file: string; result: CliResult }> {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, text);
    return { file, result: await runCli(["policy", "validate", file]) };
  }

  function assertProblems(file: string, result: CliResult, expected: Array<[string, RegExp]>): void {
    assertExit(result, 1);
    assert.equal(result.stdout, "", describeRun(result));
    const lines = outputLines(result.stderr);
    assert.equal(lines.length, expected.length, describeRun(result));
    for (const [index, [location, message]] of expected.entries()) {
      const line = lines[index] ?? "";
      const prefix = `${file}:${location}: `;
      assert.ok(line.startsWith(prefix), `expected ${JSON.stringify(prefix)}, got ${JSON.stringify(line)}`);
      assert.match(line.slice(prefix.length), message);
    }
  }

  test("the shipped policy is valid and its version is named", async () => {
    const text = await readFile(join(repoRoot, defaultPolicy), "utf8");
    const version = /^version: (\S+)$/m.exec(text)?.[1];
    assert.ok(version, "no version line in the default policy");
    const result = await runCli(["policy", "validate", defaultPolicy]);
    assertExit(result, 0);
    assert.equal(result.stdout, `${defaultPolicy}: valid (version ${version})\n`);
    assert.equal(result.stderr, "");
  });

  test("a detector type the policy does not know, in a rule", async () => {
    const { file, result } = await validate(
      "unknown-detector",
      [
        "version: bad-detector-1",
        "detectors:",
        "  builtin: [payment-card]",
        "rules:",
        "  - id: cards",
        "    when:",
        "      detected: { types: [payment-card, iban2] }",
        "    outcome: sensitive",
        reason,
      ].join("\n"),
    );
    assertProblems(file, result, [["7:41", /^rules\.0\.when\.detected\.types\.1: .*'iban2'/]]);
  });

  test("an outcome that is neither sensitive nor normal", async () => {
    const { file, result } = await validate(
      "bad-outcome",
      [
        "version: bad-outcome-1",
        "rules:",
        "  - id: hr",
        "    when:",
        "      labels: { any: [hr] }",
        "    outcome: secret",
        reason,
      ].join("\n"),
    );
    assertProblems(file, result, [["6:14", /^rules\.0\.outcome: .*sensitive.*normal/]]);
  });

  test("a custom detector named like a built-in one", async () => {
    const { file, result } = await validate(
      "custom-builtin",
      [
        "version: bad-custom-1",
        "detectors:",
        "  custom:",
        "    - type: iban",
        "      pattern: 'ACME-[0-9]{4}'",
        "rules:",
        "  - id: hr",
        "    when:",
        "      labels: { any: [hr] }",
        "    outcome: sensitive",
        reason,
      ].join("\n"),
    );
    assertProblems(file, result, [["4:13", /^detectors\.custom\.0\.type: .*built-in/]]);
  });

  test("a missing `otherwise`", async () => {
    const { file, result } = await validate(
      "no-otherwise",
      [
        "version: no-otherwise-1",
        "rules:",
        "  - id: hr",
        "    when:",
        "      labels: { any: [hr] }",
        "    outcome: sensitive",
        "    reason: Kept on-prem.",
        "",
      ].join("\n"),
    );
    assertProblems(file, result, [["1:1", /^otherwise: /]]);
  });

  test("a YAML syntax error", async () => {
    const { file, result } = await validate(
      "syntax",
      [
        "version: syntax-1",
        "rules:",
        "  - id: hr",
        "    when: { labels: { any: [hr] } }",
        "    outcome: sensitive: yes",
        reason,
      ].join("\n"),
    );
    assertProblems(file, result, [["5:14", /^\(document\): Nested mappings/]]);
  });

  test("a missing file is named", async () => {
    const file = join(dir, "does-not-exist.yaml");
    const result = await runCli(["policy", "validate", file]);
    assertExit(result, 1);
    assert.ok(result.stderr.includes(file), describeRun(result));
    assert.match(result.stderr, /ENOENT/);
    assert.equal(result.stdout, "");
  });
});

describe("watershed policy test", { concurrency: true }, () => {
  test("every case of the shipped tests passes", async () => {
    const suite = parse(await readFile(join(repoRoot, "policies/default.tests.yaml"), "utf8")) as {
      cases: unknown[];
    };
    const n = suite.cases.length;
    assert.ok(n >= 10, `only ${n} cases in default.tests.yaml`);
    const result = await runCli(["policy", "test", "policies"]);
    assertExit(result, 0);
    const lines = outputLines(result.stdout);
    assert.equal(lines.length, n + 1, describeRun(result));
    for (const line of lines.slice(0, -1)) assert.match(line, /^PASS policies\/default\.tests\.yaml: \S/);
    assert.equal(lines.at(-1), `${n} passed, 0 failed`);
  });

  test("a failing case is shown with its diff and the exit code is 1", async () => {
    const suiteDir = join(dir, "suite");
    await mkdir(suiteDir);
    await writeFile(
      join(suiteDir, "hr.yaml"),
      stringify({
        version: "hr-1",
        detectors: { builtin: [] },
        rules: [
          {
            id: "hr-label",
            when: { labels: { any: ["hr"] } },
            outcome: "sensitive",
            reason: "HR stays on-prem.",
          },
        ],
        otherwise: { outcome: "normal", reason: "Nothing matched." },
      }),
    );
    const testsFile = join(suiteDir, "hr.tests.yaml");
    await writeFile(
      testsFile,
      stringify({
        policy: "hr.yaml",
        cases: [
          {
            name: "an hr conversation stays on-prem",
            conversation: { labels: ["hr"] },
            expect: { zone: "onprem", rules: ["hr-label"] },
          },
          {
            name: "a general conversation wrongly expected on-prem",
            conversation: { labels: ["general"] },
            expect: { zone: "onprem", rules: ["hr-label"] },
          },
        ],
      }),
    );
    const result = await runCli(["policy", "test", suiteDir]);
    assertExit(result, 1);
    const lines = result.stdout.split("\n");
    assert.equal(lines[0], `PASS ${testsFile}: an hr conversation stays on-prem`, describeRun(result));
    assert.equal(lines[1], `FAIL ${testsFile}: a general conversation wrongly expected on-prem`);
    const diff = lines.slice(2, -2).map((line) => line.trim());
    assert.ok(diff.includes("- zone: onprem"), describeRun(result));
    assert.ok(diff.includes("+ zone: cloud"), describeRun(result));
    assert.ok(diff.includes("- rules: [hr-label]"), describeRun(result));
    assert.ok(diff.includes("+ rules: []"), describeRun(result));
    assert.ok(
      diff.every((line) => /^[-+] /.test(line)),
      `diff lines: ${JSON.stringify(diff)}`,
    );
    assert.equal(lines.at(-2), "1 passed, 1 failed");
    assert.match(result.stderr, /1 failed/);
  });

  test("a folder without test files fails with 'no test cases'", async () => {
    const empty = join(dir, "empty");
    await mkdir(empty);
    const result = await runCli(["policy", "test", empty]);
    assertExit(result, 1);
    assert.match(result.stderr, /no test cases/);
    assert.ok(result.stderr.includes(empty), describeRun(result));
  });

  test("a tests file without `policy:` is refused, naming `policy`", async () => {
    const noPolicy = join(dir, "no-policy");
    await mkdir(noPolicy);
    const testsFile = join(noPolicy, "x.tests.yaml");
    await writeFile(testsFile, stringify({ cases: [{ name: "a", expect: { zone: "cloud" } }] }));
    const result = await runCli(["policy", "test", noPolicy]);
    assertExit(result, 1);
    assert.ok(result.stderr.includes(`${testsFile}:1:1: policy: `), describeRun(result));
    assert.doesNotMatch(result.stdout, /PASS|FAIL/);
  });
});

describe("watershed policy explain", () => {
  test("explains a card number by rule and detector, without the number", async () => {
    const result = await runCli([
      "policy",
      "explain",
      "--policy",
      defaultPolicy,
      "--text",
      `card ${card}`,
      "--labels",
      "general",
    ]);
    assertExit(result, 0);
    assert.match(result.stdout, /sensitive-detections: MATCHED/);
    assert.match(result.stdout, /sensitive-labels: no match/);
    assert.match(result.stdout, /payment-card\s+builtin\s+fired 1×/);
    assert.match(result.stdout, /payment-card 5–24/);
    assert.match(result.stdout, /Verdict: SENSITIVE/);
    assert.ok(!result.stdout.includes("4111"), "the card number is printed");
    assert.ok(!result.stderr.includes("4111"), "the card number is printed on stderr");
  });
});

interface Decision {
  messageId: string;
  conversationId: string;
  zone: "onprem" | "cloud";
  sensitive: boolean;
  rules: string[];
  detections: Array<{ type: string; start: number; end: number; confidence: number }>;
}

function classifyInput(conversation: Record<string, unknown>, id: string, text?: string): string {
  const message: Record<string, unknown> = { id, sender: { id: "alice" } };
  if (text !== undefined) message.text = text;
  return JSON.stringify({ conversation, message });
}

describe("watershed classify", () => {
  test("decides line by line, sticky per conversation; bad lines give an error in their place", async () => {
    const cardText = `我的卡号是 ${card}，请尽快处理`;
    const start = cardText.indexOf("4111");
    const input = [
      classifyInput({ id: "c1", labels: ["general"] }, "m1", "hello, lunch at noon?"),
      classifyInput({ id: "c1", labels: ["general"] }, "m2", cardText),
      "this is not JSON",
      classifyInput({ id: "c1", labels: ["general"] }, "m3"),
      classifyInput({ id: "c1", labels: ["general"] }, "m4", "thanks, see you later"),
      classifyInput({ id: "c2", labels: ["general"] }, "m5", "thanks, see you later"),
      classifyInput({ id: "c3", labels: ["hr"] }, "m6", "thanks, see you later"),
      classifyInput({ id: "c2", labels: ["general"] }, "m7", "still relayed"),
    ];
    const result = await runCli(["classify", "--policy", defaultPolicy], { input: input.join("\n") + "\n" });
    assertExit(result, 1);
    assert.ok(!result.stdout.includes("4111"), "the card number is in the output");
    assert.ok(!result.stdout.includes("1111 1111"), "the card number is in the output");
    assert.match(result.stderr, /2 of 8 lines/);
    const lines = result.stdout.split("\n");
    assert.equal(lines.pop(), "", "output does not end with a newline");
    assert.equal(lines.length, input.length, describeRun(result));
    const out = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const decision = (index: number) => out[index] as unknown as Decision;

    assert.deepEqual(decision(0), {
      messageId: "m1",
      conversationId: "c1",
      zone: "cloud",
      sensitive: false,
      rules: [],
      detections: [],
    });

    const cardDecision = decision(1);
    assert.equal(cardDecision.messageId, "m2");
    assert.equal(cardDecision.zone, "onprem");
    assert.equal(cardDecision.sensitive, true);
    assert.deepEqual(cardDecision.rules, ["sensitive-detections"]);
    assert.equal(cardDecision.detections.length, 1, JSON.stringify(cardDecision));
    const detection = cardDecision.detections[0];
    assert.deepEqual(
      { type: detection?.type, start: detection?.start, end: detection?.end },
      { type: "payment-card", start, end: start + card.length },
    );
    assert.equal(typeof detection?.confidence, "number");

    assert.equal(out[2]?.line, 3);
    assert.match(String(out[2]?.error), /^stdin:3: /);
    assert.deepEqual(Object.keys(out[2] ?? {}).sort(), ["error", "line"]);
    assert.equal(out[3]?.line, 4);
    assert.match(String(out[3]?.error), /^stdin:4: message\.text: /);

    assert.deepEqual(
      [decision(4).messageId, decision(4).zone, decision(4).rules],
      ["m4", "onprem", ["sticky"]],
    );
    assert.deepEqual([decision(5).messageId, decision(5).zone, decision(5).rules], ["m5", "cloud", []]);
    assert.deepEqual(
      [decision(6).messageId, decision(6).zone, decision(6).rules],
      ["m6", "onprem", ["sensitive-labels"]],
    );
    assert.deepEqual([decision(7).messageId, decision(7).zone, decision(7).rules], ["m7", "cloud", []]);
  });

  test(
    "streams 200,000 lines with back-pressure under 250 MB of peak RSS",
    { timeout: 120_000 },
    async (t) => {
      const total = 200_000;
      const conversations = 1000;
      const line = (i: number) =>
        classifyInput(
          { id: `s${i % conversations}`, labels: ["general"] },
          `m${i}`,
          i % 1999 === 7
            ? `card ${card} for order ${i}`
            : `message ${i} about the quarterly plan, nothing secret`,
        ) + "\n";

      const useTime = existsSync("/usr/bin/time");
      const command = useTime ? "/usr/bin/time" : process.execPath;
      const args = useTime
        ? ["-v", process.execPath, ...cliArgs(["classify", "--policy", defaultPolicy])]
        : cliArgs(["classify", "--policy", defaultPolicy]);
      const child = spawn(command, args, {
        cwd: repoRoot,
        env: cliEnv(),
        stdio: ["pipe", "pipe", "pipe"],
        timeout: 110_000,
        killSignal: "SIGKILL",
      });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.once("close", (code, signal) => resolve([code, signal])),
      );

      // Without /usr/bin/time: VmHWM (the kernel's high-water mark) read until the process is gone.
      let polledHwmKb = 0;
      let polling: NodeJS.Timeout | undefined;
      if (!useTime && child.pid !== undefined) {
        const statusFile = `/proc/${child.pid}/status`;
        polling = setInterval(() => {
          readFile(statusFile, "utf8")
            .then((status) => {
              const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
              polledHwmKb = Math.max(polledHwmKb, kb);
            })
            .catch(() => {});
        }, 25);
      }

      // Read and check each decision as it arrives; nothing is kept but the sticky model.
      const sensitive = new Set<string>();
      let received = 0;
      let mismatch: string | null = null;
      const reading = (async () => {
        for await (const raw of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
          const i = received++;
          if (mismatch !== null) continue;
          const decision = JSON.parse(raw) as Decision;
          const conversationId = `s${i % conversations}`;
          let expected: [string, string[]];
          if (sensitive.has(conversationId)) expected = ["onprem", ["sticky"]];
          else if (i % 1999 === 7) {
            sensitive.add(conversationId);
            expected = ["onprem", ["sensitive-detections"]];
          } else expected = ["cloud", []];
          const actual = [decision.messageId, decision.conversationId, decision.zone, decision.rules];
          if (JSON.stringify(actual) !== JSON.stringify([`m${i}`, conversationId, ...expected])) {
            mismatch = `line ${i + 1}: ${raw}`;
          }
          if (raw.includes(card)) mismatch = `line ${i + 1} holds the card number: ${raw}`;
        }
      })();

      // Write with back-pressure: wait for 'drain' whenever the pipe is full.
      child.stdin.on("error", () => {}); // an early exit shows in the exit code and the line count
      let pauses = 0;
      for (let i = 0; i < total; i += 500) {
        let chunk = "";
        for (let j = i; j < Math.min(total, i + 500); j++) chunk += line(j);
        if (!child.stdin.write(chunk)) {
          pauses++;
          const drained = await Promise.race([
            once(child.stdin, "drain").then(() => true),
            closed.then(() => false),
          ]);
          if (!drained) break;
        }
      }
      child.stdin.end();

      const [code, signal] = await closed;
      await reading;
      if (polling) clearInterval(polling);
      assert.equal(signal, null, `killed by ${signal}:\n${stderr.slice(-2000)}`);
      assert.equal(code, 0, stderr.slice(-2000));
      assert.equal(received, total);
      assert.equal(mismatch, null);
      assert.ok(pauses > 0, "the writer never had to wait: back-pressure was not exercised");

      let peakKb: number;
      if (useTime) {
        const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        assert.ok(match, `no /usr/bin/time report:\n${stderr.slice(-2000)}`);
        peakKb = Number(match[1]);
      } else {
        peakKb = polledHwmKb;
        assert.ok(peakKb > 0, "could not read VmHWM");
      }
      const peakMb = peakKb / 1024;
      t.diagnostic(
        `classify: ${total} lines, peak RSS ${peakMb.toFixed(1)} MB (${useTime ? "/usr/bin/time -v" : "/proc VmHWM"}), ` +
          `${pauses} back-pressure pauses, ${sensitive.size} conversations turned sensitive`,
      );
      assert.ok(peakMb < 250, `peak RSS ${peakMb.toFixed(1)} MB`);
    },
  );
});

describe("watershed policy replay", { concurrency: true }, () => {
  let db: TestDatabase;
  let configFile: string;
  let candidateFile: string;
  const candidateVersion = "candidate-codenames-1";
  const conversations = { falcon: randomUUID(), lunch: randomUUID(), payments: randomUUID() };
  const messageIds: string[] = [];
  let snapshotBefore: unknown;

  /** Everything replay could conceivably touch, as plain JSON. */
  async function snapshot(): Promise<unknown> {
    const tables = [
      "conversations",
      "messages",
      "routing_decisions",
      "policy_versions",
      "shadow_differences",
      "audit_log",
    ];
    const result: Record<string, unknown> = {};
    for (const table of tables) {
      const { rows } = await db.pool.query<{ row: string }>(
        `SELECT to_jsonb(t)::text AS row FROM ${table} t`,
      );
      result[table] = rows.map((r) => r.row).sort();
    }
    return result;
  }

  before(async () => {
    db = await createTestDatabase();
    configFile = join(dir, "replay.yaml");
    await writeFile(configFile, stringify({ postgres: { url: db.url } }));
    const migrated = await runCli(["migrate", "--config", configFile]);
    assertExit(migrated, 0);

    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    await db.pool.query(
      `INSERT INTO conversations (id, title, labels, members, created_by) VALUES
         ($1, 'Project Falcon', '{general}', '{alice,bob}', 'alice'),
         ($2, 'Lunch', '{random}', '{alice,carol}', 'carol'),
         ($3, 'Payments', '{general}', '{dave}', 'dave')`,
      [conversations.falcon, conversations.lunch, conversations.payments],
    );
    // [conversation, text, accepted hours ago, stored zone, stored rules]
    const history: Array<[string, string, number, "cloud" | "onprem", string[]]> = [
      [conversations.falcon, "kickoff at 10 tomorrow", 3, "cloud", []],
      [conversations.falcon, "the codename BLUEHERON launches friday", 3, "cloud", []],
      [conversations.falcon, "sounds good to me", 0.2, "cloud", []],
      [conversations.falcon, "BLUEHERON budget is approved", 0.1, "cloud", []],
      [conversations.lunch, "pizza or tacos?", 3, "cloud", []],
      [conversations.lunch, "tacos, 12:30", 0.1, "cloud", []],
      [conversations.payments, `refund to card ${card}`, 3, "onprem", ["sensitive-detections"]],
      [conversations.payments, "done, thanks", 0.1, "onprem", ["sticky"]],
    ];
    for (const [index, [conversationId, body, age, zone, rules]] of history.entries()) {
      const id = randomUUID();
      messageIds.push(id);
      const acceptedAt = hoursAgo(age);
      await db.pool.query(
        `INSERT INTO messages (id, conversation_id, ingress_seq, sender_id, sender_attributes, kind, body, accepted_at)
         VALUES ($1, $2, $3, 'alice', '{"roles": ["staff"]}', 'message', $4, $5)`,
        [id, conversationId, index + 1, body, acceptedAt],
      );
      await db.pool.query(
        `INSERT INTO routing_decisions (id, message_id, conversation_id, zone, sensitive, policy_version, rules, decided_at)
         VALUES ($1, $2, $3, $4, $5, 'default-2026-11-30.2', $6, $7)`,
        [randomUUID(), id, conversationId, zone, zone === "onprem", rules, acceptedAt],
      );
    }

    // The shipped policy plus a code-name detector and a rule that makes it sensitive.
    const candidate = parse(await readFile(join(repoRoot, defaultPolicy), "utf8")) as {
      version: string;
      detectors: { custom?: unknown[] };
      rules: unknown[];
    };
    candidate.version = candidateVersion;
    candidate.detectors.custom = [{ type: "code-name", pattern: "BLUEHERON|REDKITE", confidence: 0.9 }];
    candidate.rules.push({
      id: "code-names",
      when: { detected: { types: ["code-name"] } },
      outcome: "sensitive",
      reason: "Project code names stay on-prem.",
    });
    candidateFile = join(dir, "candidate.yaml");
    await writeFile(candidateFile, stringify(candidate));
    snapshotBefore = await snapshot();
  });

  after(async () => {
    await db?.drop();
  });

  interface Report {
    candidateVersion: string;
    since: string | null;
    messages: number;
    conversations: number;
    changed: number;
    byChange: Record<string, number>;
    byRule: Record<string, number>;
    changedConversations: Array<{ conversationId: string; title: string; changed: number }>;
    examples: Array<{ messageId: string; conversationId: string; from: string; to: string; rules: string[] }>;
  }

  async function replay(args: string[]): Promise<{ result: CliResult; report: Report }> {
    const result = await runCli(["policy", "replay", "--config", configFile, "--json", ...args]);
    assertExit(result, 0);
    const report = JSON.parse(result.stdout) as Report;
    assert.deepEqual(await snapshot(), snapshotBefore, "replay changed the database");
    return { result, report };
  }

  test("reports what the candidate would move on-prem, by rule and conversation; changes nothing", async () => {
    const { result, report } = await replay(["--policy", candidateFile]);
    assert.match(result.stderr, /replaying: 8\/8 \(100%\)/);
    assert.equal(report.candidateVersion, candidateVersion);
    assert.equal(report.since, null);
    assert.equal(report.messages, 8);
    assert.equal(report.conversations, 3);
    assert.equal(report.changed, 3, JSON.stringify(report));
    assert.deepEqual(report.byChange, { "cloud->onprem": 3 });
    assert.deepEqual(report.byRule, { "code-names": 1, sticky: 2 });
    assert.deepEqual(report.changedConversations, [
      { conversationId: conversations.falcon, title: "Project Falcon", changed: 3 },
    ]);
    assert.deepEqual(
      report.examples.map((e) => [e.messageId, e.from, e.to, e.rules]),
      [
        [messageIds[1], "cloud", "onprem", ["code-names"]],
        [messageIds[2], "cloud", "onprem", ["sticky"]],
        [messageIds[3], "cloud", "onprem", ["sticky"]],
      ],
    );
    assert.ok(
      !result.stdout.includes("BLUEHERON") && !result.stdout.includes("4111"),
      "message text in the report",
    );
  });

  test("--since 1h leaves older messages out and starts from the stored sensitivity", async () => {
    const startedAt = Date.now();
    const { result, report } = await replay(["--policy", candidateFile, "--since", "1h"]);
    assert.match(result.stderr, /replaying: 4\/4 \(100%\)/);
    const since = Date.parse(report.since ?? "");
    assert.ok(
      since >= startedAt - 3_600_000 - 1000 && since <= Date.now() - 3_600_000 + 1000,
      `since ${report.since}`,
    );
    // Falcon's two recent messages, Lunch's and Payments' one each.
    assert.equal(report.messages, 4);
    assert.equal(report.conversations, 3);
    // The code name before the window was decided cloud, so "sounds good" stays cloud; the
    // recent code name moves; Payments stays on-prem as it was sensitive before the window.
    assert.equal(report.changed, 1, JSON.stringify(report));
    assert.deepEqual(report.byChange, { "cloud->onprem": 1 });
    assert.deepEqual(report.byRule, { "code-names": 1 });
    assert.deepEqual(report.changedConversations, [
      { conversationId: conversations.falcon, title: "Project Falcon", changed: 1 },
    ]);
  });

  test("--since nonsense is refused, naming --since", async () => {
    const result = await runCli([
      "policy",
      "replay",
      "--policy",
      candidateFile,
      "--config",
      configFile,
      "--since",
      "nonsense",
    ]);
    assertExit(result, 1);
    assert.match(result.stderr, /--since/);
    assert.match(result.stderr, /nonsense/);
    assert.equal(result.stdout, "");
  });
});
