// Policy.explain, formatExplanation and redact.
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { formatExplanation, redact } from "./index.ts";
import type { Detection } from "./index.ts";
import { evaluationInput as input, policyFrom } from "./test-helpers.ts";

const SECRET = "ORD-123456";

const POLICY = policyFrom(`version: explain-1
detectors:
  builtin: [email]
  custom:
    - type: order-no
      pattern: 'ORD-\\d{6}'
      confidence: 0.6
      confidenceWithKeyword: 0.6
rules:
  - id: hr-labels
    description: HR conversations
    when: {labels: {any: [finance, hr]}}
    outcome: sensitive
    reason: HR data stays on-prem.
  - id: orders
    when: {all: [{detected: {types: [order-no]}}, {not: {externalParticipants: true}}]}
    outcome: sensitive
    reason: Order numbers stay on-prem.
    actions: [notify]
  - id: public-titles
    when: {title: {glob: "public-*"}}
    outcome: normal
    reason: Public channel.
    actions: [redact]
otherwise: {outcome: normal, reason: Nothing matched.}
`);

describe("explain", () => {
  const sample = input({
    conversation: { labels: ["hr"], title: "public-chat" },
    message: { text: `order ${SECRET} for a@example.com` },
  });

  test("accounts for every detector and every rule, with the same result as evaluate", () => {
    const explanation = POLICY.explain(sample);
    assert.deepEqual(explanation.result, POLICY.evaluate(sample));
    assert.equal(explanation.policyVersion, "explain-1");
    assert.deepEqual(
      [explanation.conversationId, explanation.messageId, explanation.sticky],
      ["c-1", "m-1", false],
    );
    assert.deepEqual(
      explanation.detectors.map(({ type, source, fired, count, maxConfidence }) => ({
        type,
        source,
        fired,
        count,
        maxConfidence,
      })),
      [
        {
          type: "email",
          source: "builtin",
          fired: true,
          count: 1,
          maxConfidence: explanation.detections[1]?.confidence,
        },
        { type: "order-no", source: "custom", fired: true, count: 1, maxConfidence: 0.6 },
      ],
    );
    assert.deepEqual(
      explanation.rules.map((rule) => [rule.id, rule.matched, rule.outcome, rule.actions]),
      [
        ["hr-labels", true, "sensitive", []],
        ["orders", true, "sensitive", ["notify"]],
        ["public-titles", true, "normal", ["redact"]],
      ],
    );
    assert.equal(
      explanation.rules[0]?.condition?.reason,
      "labels: conversation has [hr], wanted any of [finance, hr] → matched",
    );
  });

  test("formatExplanation names each rule, its reason and condition, and never the matched text", () => {
    const text = formatExplanation(POLICY.explain(sample));
    for (const rule of ["hr-labels", "orders", "public-titles"])
      assert.match(text, new RegExp(`^  ${rule}: `, "m"));
    for (const reason of [
      "HR data stays on-prem.",
      "Order numbers stay on-prem.",
      "Public channel.",
      "Nothing matched.",
    ]) {
      assert.ok(text.includes(`reason: ${reason}`), `mentions ${reason}`);
    }
    assert.match(text, /Verdict: SENSITIVE .* rules hr-labels, orders/);
    assert.match(text, /actions: notify/);
    assert.match(text, /order-no +custom +fired 1× \(max confidence 0\.6\)/);
    assert.match(text, /order-no 6–16 \(0\.6\)/);
    assert.match(text, /title: conversation title "public-chat" against glob "public-\*" → matched/);
    assert.match(text, /not: the inner condition not matched → matched/);
    assert.ok(!text.includes(SECRET), "no matched text");
    assert.ok(!text.includes("a@example.com"), "no matched text");
  });

  test("a normal verdict and a detector that did not fire read plainly", () => {
    const text = formatExplanation(POLICY.explain(input({ conversation: { title: "public-x" } })));
    assert.match(text, /Verdict: NORMAL \(relayed to the cloud\), decided by rules public-titles/);
    assert.match(text, /actions: redact/);
    assert.match(text, /email +builtin +did not fire/);
    assert.match(text, /hr-labels: no match → sensitive/);
  });

  test("sticky is stated, and rules are still shown for reference", () => {
    const explanation = POLICY.explain(input({ conversation: { sensitive: true } }));
    assert.equal(explanation.sticky, true);
    assert.equal(explanation.rules.length, 3);
    assert.match(formatExplanation(explanation), /sticky: the conversation was already sensitive/);
  });

  test("an evaluation error is shown with its rule", () => {
    const broken = input();
    (broken.conversation as { labels: unknown }).labels = 7;
    const explanation = POLICY.explain(broken);
    assert.equal(explanation.result.ok, false);
    assert.match(explanation.rules[0]?.error ?? "", /conversation\.labels is not a list/);
    assert.match(
      formatExplanation(explanation),
      /Verdict: ERROR in rule hr-labels: .* \(the broker routes on-prem\)/,
    );
  });
});

describe("redact", () => {
  const at = (type: string, start: number, end: number): Detection => ({ type, start, end, confidence: 0.9 });

  test("replaces each detected span with its type by default", () => {
    const text = "mail a@b.io or call 555-0100";
    assert.equal(redact(text, [at("email", 5, 11), at("phone", 20, 28)]), "mail [email] or call [phone]");
  });

  test("takes a placeholder function, and detections in any order", () => {
    const text = "x AAA y BBB z";
    const stars = (detection: Detection) => "*".repeat(detection.end - detection.start);
    assert.equal(redact(text, [at("b", 8, 11), at("a", 2, 5)], stars), "x *** y *** z");
  });

  test("overlapping and nested spans merge into one placeholder", () => {
    const text = "0123456789";
    assert.equal(redact(text, [at("a", 2, 6), at("b", 4, 8), at("c", 5, 6)]), "01[a]89");
  });

  test("offsets out of range are clamped; no detections returns the text", () => {
    assert.equal(redact("abc", [at("x", 1, 99)]), "a[x]");
    assert.equal(redact("abc", []), "abc");
  });

  test("offsets that are not numbers throw rather than leave the text unredacted", () => {
    assert.throws(() => redact("abc", [at("x", Number.NaN, 2)]), RangeError);
  });

  test("round trip with a policy's detections", () => {
    const text = `order ${SECRET} for a@example.com`;
    const result = POLICY.evaluate(input({ message: { text } }));
    assert.ok(result.ok);
    if (!result.ok) return;
    assert.equal(redact(text, result.verdict.detections), "order [order-no] for [email]");
  });
});
