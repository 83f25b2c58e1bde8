// Properties over arbitrary inputs: evaluation never throws, explain agrees with evaluate, and
// sensitivity is sticky when each verdict is fed back as the conversation's state.
import { strict as assert } from "node:assert";
import { before, describe, test } from "node:test";
import fc from "fast-check";
import { defaultPolicyPath, loadPolicyFile } from "./index.ts";
import type { EvaluationInput, EvaluationResult, FileInput, Policy } from "./index.ts";
import { policyFrom, verdictOf } from "./test-helpers.ts";

/** Uses every condition kind, so the properties reach every matcher. */
const EVERY_KIND = `version: every-kind
detectors:
  custom:
    - {type: badge, pattern: 'B-\\d{4}', keywords: [badge]}
groups:
  board: [carol]
rules:
  - id: labels
    when: {labels: {any: [hr], all: [eu]}}
    outcome: sensitive
    reason: r
  - id: title
    when: {title: {glob: "*pay?oll*"}}
    outcome: sensitive
    reason: r
  - id: members
    when: {members: {any: [ceo], anyInGroup: [board]}}
    outcome: sensitive
    reason: r
  - id: external
    when: {not: {externalParticipants: false}}
    outcome: normal
    reason: r
    actions: [redact, notify]
  - id: bound
    when: {boundTo: {connector: slack, channel: "C*"}}
    outcome: normal
    reason: r
  - id: sender
    when: {sender: {roles: {any: [admin]}, groups: {any: [payroll]}, department: {any: [Finance]}}}
    outcome: sensitive
    reason: r
  - id: detected
    when: {any: [{detected: {types: [badge, payment-card], minCount: 2, minConfidence: 0.5}}, {detected: {}}]}
    outcome: sensitive
    reason: r
  - id: files
    when: {file: {extension: [pdf], mediaType: ["image/*"], minSize: 1, maxSize: 100000, inspectable: true, detected: {}}}
    outcome: normal
    reason: r
    actions: [block]
  - id: catch-all
    when: {all: []}
    outcome: normal
    reason: r
otherwise: {outcome: sensitive, reason: r}
`;

const word = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("hr", "eu", "finance", "payroll", "ceo", "carol", "admin", "Finance", "slack", "C01"),
);
const text = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 100 }),
  fc
    .array(
      fc.constantFrom("card ", "4111 1111 1111 1111", "B-1234", "密码是abc12345 ", "a@b.io ", "护照", "x"),
      {
        maxLength: 8,
      },
    )
    .map((parts) => parts.join("")),
);
const file: fc.Arbitrary<FileInput> = fc.record({
  id: fc.string({ maxLength: 8 }),
  name: fc.oneof(fc.string({ maxLength: 16 }), fc.constantFrom("a.pdf", "b.PNG", "c")),
  mediaType: fc.oneof(fc.string({ maxLength: 16 }), fc.constantFrom("image/png", "application/pdf", "")),
  // NaN is left out: a size that is not a number fails the evaluation (closed), tested in conditions.test.ts.
  size: fc.oneof(fc.nat(), fc.integer(), fc.double({ noNaN: true })),
  text: fc.option(text, { nil: null }),
});
const input = (sensitive: fc.Arbitrary<boolean>): fc.Arbitrary<EvaluationInput> =>
  fc.record({
    conversation: fc.record({
      id: fc.string(),
      title: fc.oneof(word, text),
      labels: fc.array(word, { maxLength: 6 }),
      members: fc.array(fc.record({ id: word }), { maxLength: 6 }),
      externalParticipants: fc.boolean(),
      bindings: fc.array(fc.record({ connector: word, channel: word }), { maxLength: 3 }),
      sensitive,
    }),
    message: fc.record(
      {
        id: fc.string(),
        sender: fc.record(
          {
            id: fc.string(),
            roles: fc.array(word, { maxLength: 3 }),
            groups: fc.array(word, { maxLength: 3 }),
            department: fc.option(word, { nil: null }),
          },
          { requiredKeys: ["id"] },
        ),
        text,
        files: fc.array(file, { maxLength: 3 }),
      },
      { requiredKeys: ["id", "sender", "text"] },
    ),
  });

function noThrow(run: () => EvaluationResult): EvaluationResult {
  try {
    return run();
  } catch (error) {
    return assert.fail(`evaluate threw: ${String(error)}`);
  }
}

describe("properties", () => {
  let policies: Policy[];
  before(async () => {
    policies = [await loadPolicyFile(defaultPolicyPath), policyFrom(EVERY_KIND)];
  });

  test("evaluate never throws on well-typed arbitrary input, and explain agrees with it", () => {
    fc.assert(
      fc.property(input(fc.boolean()), (generated) => {
        for (const policy of policies) {
          const result = noThrow(() => policy.evaluate(generated));
          assert.equal(result.ok, true, JSON.stringify(result));
          const explanation = policy.explain(generated);
          assert.deepEqual(explanation.result, result);
          if (result.ok && !generated.conversation.sensitive) {
            const matched = explanation.rules.filter((rule) => rule.matched).map((rule) => rule.id);
            assert.ok(result.verdict.rules.every((id) => matched.includes(id)));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test("evaluate and explain never throw whatever the input's shape, and fail closed", () => {
    fc.assert(
      fc.property(fc.anything(), (anything) => {
        for (const policy of policies) {
          const result = noThrow(() => policy.evaluate(anything as EvaluationInput));
          if (!result.ok) assert.equal(result.error.code, "evaluation-failed");
          else assert.equal(typeof result.verdict.sensitive, "boolean");
          assert.deepEqual(policy.explain(anything as EvaluationInput).result, result);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("sticky: once sensitive, feeding sensitive back keeps every later verdict sensitive", () => {
    fc.assert(
      fc.property(fc.array(input(fc.constant(false)), { minLength: 1, maxLength: 12 }), (messages) => {
        for (const policy of policies) {
          let sensitive = false;
          let since = -1;
          messages.forEach((message, index) => {
            const fed: EvaluationInput = { ...message, conversation: { ...message.conversation, sensitive } };
            const verdict = verdictOf(policy.evaluate(fed));
            if (since >= 0) {
              assert.equal(verdict.sensitive, true, `message ${index} after sensitive at ${since}`);
              assert.deepEqual(verdict.rules, ["sticky"]);
            } else if (verdict.sensitive) {
              since = index;
            }
            sensitive = sensitive || verdict.sensitive;
          });
        }
      }),
      { numRuns: 200 },
    );
  });
});
