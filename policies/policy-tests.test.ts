// Policy tests (`*.tests.yaml`): loading, running, the diff of a failing case, and the shipped
// tests of the default policy.
import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { defaultPolicyPath, loadPolicyTests, PolicyLoadError, runPolicyTests } from "./index.ts";

const POLICY = `version: t-1
rules:
  - id: hr
    when: {labels: {any: [hr]}}
    outcome: sensitive
    reason: hr
  - id: public
    when: {title: {glob: "public*"}}
    outcome: normal
    reason: public
    actions: [redact]
otherwise: {outcome: normal, reason: nothing}
`;

describe("runPolicyTests", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "watershed-policy-tests-"));
    await writeFile(join(dir, "policy.yaml"), POLICY);
    await writeFile(
      join(dir, "policy.tests.yaml"),
      `policy: policy.yaml
cases:
  - name: hr is sensitive
    conversation: {labels: [hr]}
    expect: {zone: onprem, rules: [hr]}
  - name: public is relayed with redaction
    conversation: {title: public-news}
    message: {text: "mail a@example.com"}
    expect: {zone: cloud, rules: [public], actions: [redact], detections: [email]}
  - name: wrongly expects hr to be relayed
    conversation: {labels: [hr], title: public-hr}
    expect: {zone: cloud, rules: [public]}
`,
    );
    await writeFile(join(dir, "notes.yaml"), "not: a test file\n");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("runs every case, counts passes and failures, and diffs the failing case", async () => {
    const report = await runPolicyTests(dir);
    assert.deepEqual([report.passed, report.failed], [2, 1]);
    assert.deepEqual(
      report.cases.map((result) => [result.name, result.passed, result.line]),
      [
        ["hr is sensitive", true, 3],
        ["public is relayed with redaction", true, 6],
        ["wrongly expects hr to be relayed", false, 10],
      ],
    );
    const failing = report.cases[2];
    assert.ok(failing);
    assert.equal(failing.file, join(dir, "policy.tests.yaml"));
    assert.deepEqual(failing.expected, { zone: "cloud", rules: ["public"] });
    assert.deepEqual(failing.actual, { zone: "onprem", rules: ["hr"], detections: [], actions: [] });
    assert.equal(
      failing.diff,
      ["- zone: cloud", "+ zone: onprem", "- rules: [public]", "+ rules: [hr]"].join("\n"),
    );
    assert.equal(report.cases[0]?.diff, "");
  });

  test("a single test file may be named instead of a folder", async () => {
    const report = await runPolicyTests(join(dir, "policy.tests.yaml"));
    assert.equal(report.cases.length, 3);
  });

  test("fields that agree show unprefixed in the diff; an evaluation error always fails", async () => {
    const other = await mkdtemp(join(tmpdir(), "watershed-policy-tests-"));
    try {
      await writeFile(join(other, "p.yaml"), POLICY);
      await writeFile(
        join(other, "a.tests.yaml"),
        `policy: p.yaml
cases:
  - name: detections differ
    message: {text: "a@example.com and b@example.com"}
    expect: {zone: cloud, rules: [], detections: [email]}
`,
      );
      const [result] = (await runPolicyTests(other)).cases;
      assert.equal(result?.passed, false);
      assert.equal(
        result?.diff,
        ["  zone: cloud", "  rules: []", "- detections: [email]", "+ detections: [email, email]"].join("\n"),
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe("loadPolicyTests", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "watershed-policy-tests-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("resolves the policy against the test file's folder, fills defaults, keeps the order", async () => {
    await writeFile(
      join(dir, "b.tests.yaml"),
      "policy: ../elsewhere/p.yaml\ncases:\n  - name: x\n    expect: {zone: cloud}\n",
    );
    await writeFile(
      join(dir, "a.tests.yaml"),
      "policy: p.yaml\ncases:\n  - name: y\n    expect: {zone: onprem}\n",
    );
    const suites = await loadPolicyTests(dir);
    assert.deepEqual(
      suites.map((suite) => [suite.file, suite.policy]),
      [
        [join(dir, "a.tests.yaml"), join(dir, "p.yaml")],
        [join(dir, "b.tests.yaml"), join(dirname(dir), "elsewhere", "p.yaml")],
      ],
    );
    const testCase = suites[0]?.cases[0];
    assert.deepEqual(testCase?.conversation, {
      id: "test-conversation",
      title: "",
      labels: [],
      members: [],
      externalParticipants: false,
      bindings: [],
      sensitive: false,
    });
    assert.deepEqual(testCase?.message, {
      id: "test-message",
      sender: { id: "tester", roles: [], groups: [], department: null },
      text: "",
    });
  });

  test("a bad test file names file, line, column and field", async () => {
    const bad = join(dir, "bad");
    await rm(bad, { recursive: true, force: true });
    await mkdir(bad);
    const file = join(bad, "x.tests.yaml");
    await writeFile(
      file,
      `policy: p.yaml
cases:
  - name: a
    message: {text: hi, colour: red}
    expect: {zone: somewhere}
  - name: a
    expect: {zone: cloud, rules: hr}
`,
    );
    const error = await loadPolicyTests(bad).then(
      () => assert.fail("expected a PolicyLoadError"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof PolicyLoadError);
    assert.deepEqual(
      error.problems.map((problem) => [problem.source, problem.line, problem.column, problem.path]),
      [
        [file, 4, 25, "cases.0.message.colour"],
        [file, 5, 20, "cases.0.expect.zone"],
        [file, 7, 34, "cases.1.expect.rules"],
      ],
    );
    assert.match(
      error.message,
      new RegExp(`x\\.tests\\.yaml:4:25: cases\\.0\\.message\\.colour: unknown key`),
    );
  });

  test("a duplicate case name is a problem once the shapes are right", async () => {
    const dup = await mkdtemp(join(tmpdir(), "watershed-policy-tests-"));
    try {
      await writeFile(
        join(dup, "d.tests.yaml"),
        "policy: p.yaml\ncases:\n  - name: a\n    expect: {zone: cloud}\n  - name: a\n    expect: {zone: cloud}\n",
      );
      const error = await loadPolicyTests(dup).catch((caught: unknown) => caught);
      assert.ok(error instanceof PolicyLoadError);
      assert.deepEqual(
        error.problems.map((problem) => [problem.line, problem.column, problem.path, problem.message]),
        [[5, 11, "cases.1.name", "duplicate case name"]],
      );
    } finally {
      await rm(dup, { recursive: true, force: true });
    }
  });

  test("a test file whose policy is invalid fails the run with the policy's problems", async () => {
    const broken = await mkdtemp(join(tmpdir(), "watershed-policy-tests-"));
    try {
      await writeFile(join(broken, "p.yaml"), "version: v\nrules: []\n");
      await writeFile(
        join(broken, "p.tests.yaml"),
        "policy: p.yaml\ncases:\n  - name: a\n    expect: {zone: cloud}\n",
      );
      await assert.rejects(runPolicyTests(broken), (error: unknown) => {
        assert.ok(error instanceof PolicyLoadError);
        assert.deepEqual(
          error.problems.map((problem) => problem.path),
          ["otherwise"],
        );
        return true;
      });
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });
});

describe("the default policy's shipped tests", () => {
  test("policies/default.tests.yaml: every case passes", async () => {
    const file = join(dirname(defaultPolicyPath), "default.tests.yaml");
    const report = await runPolicyTests(file);
    const failures = report.cases
      .filter((result) => !result.passed)
      .map((result) => `${result.name} (line ${result.line}):\n${result.diff}`);
    assert.deepEqual(failures, []);
    assert.ok(report.passed >= 25, `${report.passed} cases`);
  });

  test("they cover every label, every sensitive detector, and the not-sensitive ones", async () => {
    const [suite] = await loadPolicyTests(join(dirname(defaultPolicyPath), "default.tests.yaml"));
    assert.ok(suite);
    assert.equal(suite.policy, defaultPolicyPath);
    const labels = new Set(suite.cases.flatMap((testCase) => testCase.conversation.labels));
    for (const label of ["confidential", "finance", "hr", "legal", "medical", "restricted"]) {
      assert.ok(labels.has(label), label);
    }
    const expected = suite.cases.flatMap((testCase) => testCase.expect.detections ?? []);
    const sensitive = [
      "payment-card",
      "cn-resident-id",
      "iban",
      "us-ssn",
      "cn-passport",
      "private-key",
      "aws-access-key",
      "github-token",
      "slack-token",
      "stripe-live-key",
      "password-assignment",
    ];
    for (const type of [...sensitive, "email", "phone", "ip-address"]) {
      assert.ok(expected.includes(type), type);
    }
    // Each sensitive detector has a case in Chinese text (CJK characters in the message).
    for (const type of sensitive) {
      const chinese = suite.cases.some(
        (testCase) =>
          testCase.expect.detections?.includes(type) && /\p{Script=Han}/u.test(testCase.message.text),
      );
      assert.ok(chinese, `${type} in Chinese`);
    }
  });
});
