// How rules combine into a verdict: deny-overrides, actions, sticky, and the detectors' options.
import { strict as assert } from "node:assert";
import { describe, test } from "node:test";
import { builtinDetectors } from "./detectors/index.ts";
import { evaluationInput as input, policyFrom, verdictOf } from "./test-helpers.ts";

const CARD = "4111 1111 1111 1111";

const COMBINING = policyFrom(`version: combine-1
rules:
  - id: public-notify
    when: {labels: {any: [public]}}
    outcome: normal
    reason: public channel
    actions: [notify]
  - id: finance
    when: {labels: {any: [finance]}}
    outcome: sensitive
    reason: finance stays
    actions: [notify]
  - id: external-redact
    when: {externalParticipants: true}
    outcome: normal
    reason: external people read this
    actions: [redact]
  - id: legal
    when: {labels: {any: [legal]}}
    outcome: sensitive
    reason: legal stays
    actions: [block]
  - id: secrets-block
    when: {labels: {any: [quarantine]}}
    outcome: normal
    reason: blocked, not relayed
    actions: [block, notify]
otherwise: {outcome: normal, reason: nothing matched}
`);

describe("combining rules", () => {
  test("deny-overrides: every matching sensitive rule decides, the first one's reason is shown", () => {
    const verdict = verdictOf(
      COMBINING.evaluate(input({ conversation: { labels: ["public", "legal", "finance"] } })),
    );
    assert.equal(verdict.sensitive, true);
    assert.deepEqual(verdict.rules, ["finance", "legal"]);
    assert.equal(verdict.reason, "finance stays");
    assert.equal(verdict.policyVersion, "combine-1");
  });

  test("actions are the union over the deciding rules only", () => {
    const sensitive = verdictOf(
      COMBINING.evaluate(
        input({ conversation: { labels: ["public", "legal", "finance"], externalParticipants: true } }),
      ),
    );
    // public-notify and external-redact matched too, but the sensitive rules decided.
    assert.deepEqual(sensitive.actions, { notify: true, redact: false, block: true, retract: false });

    const normal = verdictOf(
      COMBINING.evaluate(input({ conversation: { labels: ["public"], externalParticipants: true } })),
    );
    assert.deepEqual([normal.sensitive, normal.rules], [false, ["public-notify", "external-redact"]]);
    assert.deepEqual(normal.actions, { notify: true, redact: true, block: false, retract: false });
  });

  test("block forces the verdict sensitive even from a normal rule", () => {
    const verdict = verdictOf(
      COMBINING.evaluate(input({ conversation: { labels: ["quarantine", "public"] } })),
    );
    assert.equal(verdict.sensitive, true);
    assert.deepEqual(verdict.rules, ["public-notify", "secrets-block"]);
    assert.equal(verdict.reason, "public channel");
    assert.deepEqual(verdict.actions, { notify: true, redact: false, block: true, retract: false });
  });

  test("otherwise decides with no rules and no actions", () => {
    const verdict = verdictOf(COMBINING.evaluate(input({ conversation: { labels: ["general"] } })));
    assert.deepEqual(
      [verdict.sensitive, verdict.rules, verdict.reason, verdict.actions],
      [false, [], "nothing matched", { notify: false, redact: false, block: false, retract: false }],
    );
  });
});

describe("sticky", () => {
  const policy = policyFrom(`version: sticky-1
rules:
  - id: cards
    when: {detected: {types: [payment-card]}}
    outcome: sensitive
    reason: card
    actions: [notify]
otherwise: {outcome: normal, reason: nothing matched}
`);

  test("an already sensitive conversation stays sensitive, and its detections are still reported", () => {
    const verdict = verdictOf(
      policy.evaluate(input({ conversation: { sensitive: true }, message: { text: `card ${CARD}` } })),
    );
    assert.deepEqual([verdict.sensitive, verdict.rules], [true, ["sticky"]]);
    assert.deepEqual(verdict.actions, { notify: false, redact: false, block: false, retract: false });
    assert.deepEqual(
      verdict.detections.map((detection) => [detection.type, detection.start, detection.end]),
      [["payment-card", 5, 5 + CARD.length]],
    );
  });

  test("a sticky flag that is not a boolean fails closed", () => {
    const result = policy.evaluate(input({ conversation: { sensitive: "yes" as unknown as boolean } }));
    assert.equal(result.ok, false);
  });
});

describe("built-in detector options", () => {
  const card = builtinDetectors["payment-card"];
  // Between the card detector's plain confidence and its confidence with a keyword nearby.
  const floor = (card.confidence + card.confidenceWithKeyword) / 2;

  test("detectors absent: every built-in is enabled", () => {
    const policy = policyFrom("version: v\nrules: []\notherwise: {outcome: normal, reason: r}\n");
    assert.ok(policy.detectorTypes.includes("payment-card"));
    assert.ok(policy.detectorTypes.includes("ip-address"));
    const verdict = verdictOf(policy.evaluate(input({ message: { text: `pay with ${CARD}` } })));
    assert.deepEqual(
      verdict.detections.map((detection) => detection.type),
      ["payment-card"],
    );
  });

  test("builtin: [] enables none; a listed subset enables just those", () => {
    const none = policyFrom(
      "version: v\ndetectors: {builtin: []}\nrules: []\notherwise: {outcome: normal, reason: r}\n",
    );
    assert.deepEqual(none.detectorTypes, []);
    assert.deepEqual(verdictOf(none.evaluate(input({ message: { text: CARD } }))).detections, []);
    const some = policyFrom(
      "version: v\ndetectors: {builtin: [email, payment-card]}\nrules: []\notherwise: {outcome: normal, reason: r}\n",
    );
    assert.deepEqual(some.detectorTypes, ["email", "payment-card"]);
  });

  test("minConfidence drops weaker detections before any rule sees them; extra keywords raise confidence", () => {
    const policy = policyFrom(`version: v
detectors:
  builtin:
    - {type: payment-card, minConfidence: ${floor}, keywords: [zahlkarte]}
rules:
  - id: cards
    when: {detected: {}}
    outcome: sensitive
    reason: card
otherwise: {outcome: normal, reason: r}
`);
    const plain = verdictOf(policy.evaluate(input({ message: { text: `number ${CARD}` } })));
    assert.deepEqual([plain.sensitive, plain.detections], [false, []]);
    const explained = policy.explain(input({ message: { text: `number ${CARD}` } }));
    assert.equal(explained.detectors[0]?.belowMinConfidence, 1);

    const keyword = verdictOf(policy.evaluate(input({ message: { text: `zahlkarte: ${CARD}` } })));
    assert.equal(keyword.sensitive, true);
    assert.deepEqual(
      keyword.detections.map((detection) => [detection.type, detection.confidence]),
      [["payment-card", card.confidenceWithKeyword]],
    );
  });

  test("custom detectors run beside the built-in ones in one scan", () => {
    const policy = policyFrom(`version: v
detectors:
  builtin: [payment-card]
  custom:
    - type: project-code
      pattern: 'PRJ-[A-Z]{3}'
      confidence: 0.75
rules:
  - id: projects
    when: {detected: {types: [project-code]}}
    outcome: sensitive
    reason: project
otherwise: {outcome: normal, reason: r}
`);
    assert.deepEqual(policy.detectorTypes, ["payment-card", "project-code"]);
    const verdict = verdictOf(policy.evaluate(input({ message: { text: `PRJ-ABC paid by ${CARD}` } })));
    assert.deepEqual(verdict.rules, ["projects"]);
    assert.deepEqual(
      verdict.detections.map((detection) => detection.type),
      ["project-code", "payment-card"],
    );
  });
});

describe("fail closed", () => {
  test("a message text that is not a string is an error, never an empty scan", () => {
    const result = COMBINING.evaluate(input({ message: { text: undefined as unknown as string } }));
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.error.message, /message\.text/);
  });

  test("explain of a broken input reports the error on every rule and the failed result", () => {
    const explanation = COMBINING.explain(null as never);
    assert.equal(explanation.result.ok, false);
    assert.equal(explanation.rules.length, 5);
    assert.ok(explanation.rules.every((rule) => rule.error !== null && !rule.matched));
  });
});
