// Every condition kind, matched and not matched, evaluated through evaluate and explain alike.
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import type { FileInput } from "./index.ts";
import { evaluationInput as input, matches, singleRule, verdictOf } from "./test-helpers.ts";

/** Two custom detectors with fixed confidences, so these tests do not depend on the built-in pack. */
const DETECTORS = `detectors:
  builtin: []
  custom:
    - type: order-no
      pattern: 'ORD-\\d{6}'
      keywords: [order]
      confidence: 0.5
      confidenceWithKeyword: 0.9
    - type: ticket
      pattern: 'TCK-\\d{4}'
      confidence: 0.7
      confidenceWithKeyword: 0.7
groups:
  board: [carol, dave]
  auditors: [erin]
`;

function file(overrides: Partial<FileInput> = {}): FileInput {
  return { id: "f-1", name: "report.pdf", mediaType: "application/pdf", size: 2048, text: "", ...overrides };
}

describe("labels", () => {
  const any = singleRule({ labels: { any: ["finance", "hr"] } });
  const all = singleRule({ labels: { all: ["finance", "hr"] } });
  const both = singleRule({ labels: { any: ["legal", "medical"], all: ["eu"] } });

  test("any: matched by one of the labels, not by none", () => {
    assert.equal(matches(any, input({ conversation: { labels: ["general", "hr"] } })), true);
    assert.equal(matches(any, input({ conversation: { labels: ["general", "finances"] } })), false);
    assert.equal(matches(any, input({ conversation: { labels: [] } })), false);
  });

  test("all: matched only when every label is there", () => {
    assert.equal(matches(all, input({ conversation: { labels: ["hr", "x", "finance"] } })), true);
    assert.equal(matches(all, input({ conversation: { labels: ["hr"] } })), false);
  });

  test("any and all together: both must hold", () => {
    assert.equal(matches(both, input({ conversation: { labels: ["eu", "legal"] } })), true);
    assert.equal(matches(both, input({ conversation: { labels: ["legal"] } })), false);
    assert.equal(matches(both, input({ conversation: { labels: ["eu"] } })), false);
  });
});

describe("title", () => {
  const payroll = singleRule({ title: { glob: "*payroll*" } });
  const quarter = singleRule({ title: { glob: "Q? [board] review" } });

  test("'*' matches any run of characters, case-insensitively", () => {
    assert.equal(matches(payroll, input({ conversation: { title: "Q3 PAYROLL review" } })), true);
    assert.equal(matches(payroll, input({ conversation: { title: "payroll" } })), true);
    assert.equal(matches(payroll, input({ conversation: { title: "pay roll" } })), false);
  });

  test("'?' matches exactly one character; brackets are literal", () => {
    assert.equal(matches(quarter, input({ conversation: { title: "q4 [Board] Review" } })), true);
    assert.equal(matches(quarter, input({ conversation: { title: "Q10 [board] review" } })), false);
    assert.equal(matches(quarter, input({ conversation: { title: "Q4 b review" } })), false);
  });

  test("a glob is whole-title and does not backtrack exponentially", () => {
    const stars = singleRule({ title: { glob: "*a*a*a*a*a*a*a*a*a*a*b" } });
    const started = performance.now();
    assert.equal(matches(stars, input({ conversation: { title: "a".repeat(5000) } })), false);
    assert.ok(performance.now() - started < 2000);
  });

  test("a missing title fails closed instead of reading as no match", () => {
    const bad = input();
    delete (bad.conversation as { title?: string }).title;
    const result = payroll.evaluate(bad);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.ruleId, "r");
  });
});

describe("members", () => {
  const listed = singleRule({ members: { any: ["ceo", "cfo"] } }, DETECTORS);
  const grouped = singleRule({ members: { anyInGroup: ["board", "auditors"] } }, DETECTORS);
  const both = singleRule({ members: { any: ["ceo"], anyInGroup: ["auditors"] } }, DETECTORS);
  const withMembers = (...ids: string[]) => input({ conversation: { members: ids.map((id) => ({ id })) } });

  test("any: a listed member takes part", () => {
    assert.equal(matches(listed, withMembers("alice", "cfo")), true);
    assert.equal(matches(listed, withMembers("alice", "bob")), false);
  });

  test("anyInGroup: a member of one of the policy's groups takes part", () => {
    assert.equal(matches(grouped, withMembers("alice", "dave")), true);
    assert.equal(matches(grouped, withMembers("erin")), true);
    assert.equal(matches(grouped, withMembers("alice", "ceo")), false);
  });

  test("any and anyInGroup together: both must hold", () => {
    assert.equal(matches(both, withMembers("ceo", "erin")), true);
    assert.equal(matches(both, withMembers("ceo")), false);
    assert.equal(matches(both, withMembers("erin")), false);
  });
});

describe("externalParticipants", () => {
  test("matches the conversation's flag, true or false", () => {
    const external = singleRule({ externalParticipants: true });
    const internal = singleRule({ externalParticipants: false });
    assert.equal(matches(external, input({ conversation: { externalParticipants: true } })), true);
    assert.equal(matches(external, input({ conversation: { externalParticipants: false } })), false);
    assert.equal(matches(internal, input({ conversation: { externalParticipants: false } })), true);
    assert.equal(matches(internal, input({ conversation: { externalParticipants: true } })), false);
  });

  test("a flag that is not a boolean fails closed", () => {
    const external = singleRule({ externalParticipants: false });
    const bad = input({ conversation: { externalParticipants: undefined as unknown as boolean } });
    assert.equal(external.evaluate(bad).ok, false);
  });
});

describe("boundTo", () => {
  const slack = singleRule({ boundTo: { connector: "slack" } });
  const channel = singleRule({ boundTo: { connector: "slack", channel: "C0*" } });
  const bound = (connector: string, channelId: string) =>
    input({
      conversation: {
        bindings: [
          { connector: "teams", channel: "19:x" },
          { connector, channel: channelId },
        ],
      },
    });

  test("connector only", () => {
    assert.equal(matches(slack, bound("slack", "C999")), true);
    assert.equal(matches(slack, bound("mattermost", "C999")), false);
    assert.equal(matches(slack, input()), false);
  });

  test("connector with a channel glob", () => {
    assert.equal(matches(channel, bound("slack", "c0123")), true);
    assert.equal(matches(channel, bound("slack", "D0123")), false);
    assert.equal(matches(channel, bound("mattermost", "C0123")), false);
  });
});

describe("sender", () => {
  const roles = singleRule({ sender: { roles: { any: ["hr-partner"] } } });
  const groups = singleRule({ sender: { groups: { any: ["payroll"] } } });
  const department = singleRule({ sender: { department: { any: ["Finance"] } } });
  const allParts = singleRule({
    sender: { roles: { any: ["manager"] }, groups: { any: ["payroll"] }, department: { any: ["Finance"] } },
  });
  const from = (sender: { roles?: string[]; groups?: string[]; department?: string | null }) =>
    input({ message: { sender: { id: "alice", ...sender } } });

  test("roles", () => {
    assert.equal(matches(roles, from({ roles: ["staff", "hr-partner"] })), true);
    assert.equal(matches(roles, from({ roles: ["staff"] })), false);
    assert.equal(matches(roles, from({})), false, "no roles given reads as none");
  });

  test("groups from the token", () => {
    assert.equal(matches(groups, from({ groups: ["payroll"] })), true);
    assert.equal(matches(groups, from({ groups: ["engineering"] })), false);
    assert.equal(matches(groups, from({})), false);
  });

  test("department", () => {
    assert.equal(matches(department, from({ department: "Finance" })), true);
    assert.equal(matches(department, from({ department: "Sales" })), false);
    assert.equal(matches(department, from({ department: null })), false);
  });

  test("every part given must hold", () => {
    const full = { roles: ["manager"], groups: ["payroll"], department: "Finance" };
    assert.equal(matches(allParts, from(full)), true);
    assert.equal(matches(allParts, from({ ...full, roles: [] })), false);
    assert.equal(matches(allParts, from({ ...full, groups: [] })), false);
    assert.equal(matches(allParts, from({ ...full, department: "Sales" })), false);
  });
});

describe("detected (message text)", () => {
  const text = (value: string) => input({ message: { text: value } });

  test("with no types, any enabled detector counts", () => {
    const any = singleRule({ detected: {} }, DETECTORS);
    assert.equal(matches(any, text("see TCK-1234")), true);
    assert.equal(matches(any, text("see TCK-12")), false);
  });

  test("types: only the listed detectors count", () => {
    const orders = singleRule({ detected: { types: ["order-no"] } }, DETECTORS);
    assert.equal(matches(orders, text("ref ORD-123456")), true);
    assert.equal(matches(orders, text("see TCK-1234")), false);
  });

  test("minCount: at least that many detections", () => {
    const two = singleRule({ detected: { types: ["order-no", "ticket"], minCount: 2 } }, DETECTORS);
    assert.equal(matches(two, text("ORD-123456 and TCK-1234")), true);
    assert.equal(matches(two, text("ORD-123456 and ORD-654321")), true);
    assert.equal(matches(two, text("ORD-123456 only")), false);
  });

  test("minConfidence: a keyword nearby raises confidence over the floor", () => {
    const sure = singleRule({ detected: { types: ["order-no"], minConfidence: 0.8 } }, DETECTORS);
    assert.equal(matches(sure, text("ref ORD-123456")), false);
    assert.equal(matches(sure, text("your order ORD-123456")), true);
  });

  test("the verdict reports every detection with type, offsets and confidence only", () => {
    const policy = singleRule({ labels: { any: ["never"] } }, DETECTORS);
    const verdict = verdictOf(policy.evaluate(text("ref ORD-123456, TCK-1234")));
    assert.deepEqual(verdict.detections, [
      { type: "order-no", start: 4, end: 14, confidence: 0.5 },
      { type: "ticket", start: 16, end: 24, confidence: 0.7 },
    ]);
    assert.equal(verdict.fileDetections, undefined, "no files, no fileDetections");
  });
});

describe("file", () => {
  const withFiles = (...files: FileInput[]) => input({ message: { text: "see attached", files } });

  test("extension, with or without the dot, case-insensitive, multi-part endings", () => {
    const pdf = singleRule({ file: { extension: ["pdf", ".tar.gz"] } });
    assert.equal(matches(pdf, withFiles(file({ name: "Q3.PDF" }))), true);
    assert.equal(matches(pdf, withFiles(file({ name: "dump.tar.gz" }))), true);
    assert.equal(matches(pdf, withFiles(file({ name: "pdf.txt" }))), false);
    assert.equal(matches(pdf, withFiles()), false);
  });

  test("mediaType, with 'image/*' and parameters ignored", () => {
    const images = singleRule({ file: { mediaType: ["image/*", "text/csv"] } });
    assert.equal(matches(images, withFiles(file({ mediaType: "image/png" }))), true);
    assert.equal(matches(images, withFiles(file({ mediaType: "Text/CSV; charset=utf-8" }))), true);
    assert.equal(matches(images, withFiles(file({ mediaType: "application/pdf" }))), false);
    assert.equal(matches(images, withFiles(file({ mediaType: "imagery/png" }))), false);
  });

  test("minSize and maxSize are inclusive bytes", () => {
    const mid = singleRule({ file: { minSize: 100, maxSize: 200 } });
    assert.equal(matches(mid, withFiles(file({ size: 100 }))), true);
    assert.equal(matches(mid, withFiles(file({ size: 200 }))), true);
    assert.equal(matches(mid, withFiles(file({ size: 99 }))), false);
    assert.equal(matches(mid, withFiles(file({ size: 201 }))), false);
  });

  test("inspectable: whether text could be extracted", () => {
    const opaque = singleRule({ file: { inspectable: false } });
    assert.equal(matches(opaque, withFiles(file({ text: null }))), true);
    assert.equal(matches(opaque, withFiles(file({ text: "" }))), false);
  });

  test("detected: detections in the file's text, not the message's", () => {
    const policy = singleRule({ file: { detected: { types: ["order-no"] } } }, DETECTORS);
    assert.equal(matches(policy, withFiles(file({ text: "ORD-123456" }))), true);
    assert.equal(
      matches(policy, input({ message: { text: "ORD-123456", files: [file({ text: "nothing" })] } })),
      false,
    );
    assert.equal(matches(policy, withFiles(file({ text: null }))), false);
  });

  test("one file must match every part given (not one part per file)", () => {
    const policy = singleRule({ file: { extension: ["csv"], detected: { types: ["ticket"] } } }, DETECTORS);
    const csv = file({ id: "a", name: "a.csv", text: "nothing" });
    const txt = file({ id: "b", name: "b.txt", text: "TCK-1234" });
    assert.equal(matches(policy, withFiles(csv, txt)), false);
    assert.equal(matches(policy, withFiles(csv, file({ id: "c", name: "c.csv", text: "TCK-1234" }))), true);
  });

  test("an empty file condition matches any attachment", () => {
    const any = singleRule({ file: {} });
    assert.equal(matches(any, withFiles(file())), true);
    assert.equal(matches(any, input()), false);
  });

  test("fileDetections lists each file's detections, in the order given", () => {
    const policy = singleRule({ file: {} }, DETECTORS);
    const verdict = verdictOf(
      policy.evaluate(
        withFiles(
          file({ id: "x", text: "TCK-1234 TCK-5678" }),
          file({ id: "y", text: null }),
          file({ id: "z" }),
        ),
      ),
    );
    assert.deepEqual(verdict.fileDetections, [
      {
        fileId: "x",
        detections: [
          { type: "ticket", start: 0, end: 8, confidence: 0.7 },
          { type: "ticket", start: 9, end: 17, confidence: 0.7 },
        ],
      },
      { fileId: "y", detections: [] },
      { fileId: "z", detections: [] },
    ]);
    assert.deepEqual(verdict.detections, [], "file detections are not message detections");
  });

  test("a file whose text is neither a string nor null fails closed", () => {
    const any = singleRule({ file: {} });
    const bad = withFiles(file({ text: 42 as unknown as string }));
    assert.equal(any.evaluate(bad).ok, false);
  });

  test("a size that is not a number fails closed when a size is asked for", () => {
    const small = singleRule({ file: { maxSize: 10 } });
    assert.equal(small.evaluate(withFiles(file({ size: Number.NaN }))).ok, false);
  });
});

describe("all / any / not", () => {
  const nested = singleRule({
    all: [
      { labels: { any: ["finance"] } },
      { any: [{ externalParticipants: true }, { not: { title: { glob: "internal*" } } }] },
    ],
  });

  test("nesting combines as written", () => {
    const finance = (title: string, externalParticipants: boolean) =>
      input({ conversation: { labels: ["finance"], title, externalParticipants } });
    assert.equal(matches(nested, finance("internal budget", true)), true);
    assert.equal(matches(nested, finance("budget", false)), true);
    assert.equal(matches(nested, finance("internal budget", false)), false);
    assert.equal(
      matches(
        nested,
        input({ conversation: { labels: ["hr"], title: "budget", externalParticipants: true } }),
      ),
      false,
    );
  });

  test("an empty all always matches; not inverts", () => {
    assert.equal(matches(singleRule({ all: [] }), input()), true);
    assert.equal(matches(singleRule({ not: { all: [] } }), input()), false);
    assert.equal(matches(singleRule({ not: { labels: { any: ["hr"] } } }), input()), true);
  });

  test("explain walks every child, with its path in the policy", () => {
    const explained = nested.explain(
      input({ conversation: { labels: ["finance"], title: "internal", externalParticipants: false } }),
    );
    const root = explained.rules[0]?.condition;
    assert.ok(root);
    assert.equal(root.path, "rules.0.when");
    assert.deepEqual(
      root.children.map((child) => [child.path, child.kind, child.matched]),
      [
        ["rules.0.when.all.0", "labels", true],
        ["rules.0.when.all.1", "any", false],
      ],
    );
    const not = root.children[1]?.children[1];
    assert.equal(not?.reason, "not: the inner condition matched → not matched");
    assert.equal(not?.children[0]?.path, "rules.0.when.all.1.any.1.not");
  });
});
