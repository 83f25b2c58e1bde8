// Validation of policy files: each cross-field check names the line, column and field; and the
// committed JSON Schema is the one generated from the zod schema.
import { strict as assert } from "node:assert";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { parsePolicy, policyJsonSchema } from "./index.ts";
import type { PolicyProblem } from "./index.ts";
import { onlyProblem, problemsOf } from "./test-helpers.ts";

const OTHERWISE = "otherwise: {outcome: normal, reason: r}\n";

function where(problem: PolicyProblem): [number, number, string] {
  return [problem.line, problem.column, problem.path];
}

describe("conditions", () => {
  test("a condition with no key is an error at the condition", () => {
    const problem = onlyProblem(`version: v
rules:
  - id: a
    when: {}
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(where(problem), [4, 11, "rules.0.when"]);
    assert.match(problem.message, /exactly one of: labels, title, members/);
  });

  test("two keys in one condition is an error at the second, pointing to all/any", () => {
    const problem = onlyProblem(`version: v
rules:
  - id: a
    when:
      labels: {any: [hr]}
      title: {glob: "x*"}
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(where(problem), [6, 14, "rules.0.when.title"]);
    assert.match(
      problem.message,
      /one condition per object, found labels and title; combine them with 'all' or 'any'/,
    );
  });

  test("an unknown condition kind is an unknown key at the key", () => {
    const problem = onlyProblem(`version: v
rules:
  - id: a
    when:
      all:
        - label: {any: [hr]}
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(where(problem), [6, 11, "rules.0.when.all.0.label"]);
    assert.equal(problem.message, "unknown key");
  });

  test("an empty labels condition needs any or all", () => {
    const problem = onlyProblem(`version: v
rules:
  - id: a
    when: {labels: {}}
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(where(problem), [4, 20, "rules.0.when.labels"]);
    assert.match(problem.message, /needs at least one of: any, all/);
  });

  test("a bad media type and a size range upside down are located", () => {
    const problems = problemsOf(`version: v
rules:
  - id: a
    when:
      file:
        mediaType: [image/*, "pdf"]
        minSize: 10
        maxSize: 5
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(problems.map(where), [
      [6, 30, "rules.0.when.file.mediaType.1"],
      [8, 18, "rules.0.when.file.maxSize"],
    ]);
  });

  test("an unknown action is an error on the list element", () => {
    const problem = onlyProblem(`version: v
rules:
  - id: a
    when: {labels: {any: [hr]}}
    outcome: sensitive
    reason: r
    actions: [notify, shred]
${OTHERWISE}`);
    assert.deepEqual(where(problem), [7, 23, "rules.0.actions.1"]);
  });
});

describe("cross-field checks", () => {
  test("an unknown group in members.anyInGroup", () => {
    const problem = onlyProblem(`version: v
groups:
  board: [ceo, cfo]
rules:
  - id: a
    when:
      members:
        anyInGroup: [board, bord]
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(where(problem), [8, 29, "rules.0.when.members.anyInGroup.1"]);
    assert.match(problem.message, /unknown group 'bord'/);
  });

  test("a detector type in a detected condition that the policy does not enable, nested in any/not", () => {
    const problem = onlyProblem(`version: v
detectors:
  builtin: [payment-card]
rules:
  - id: a
    when:
      any:
        - detected: {types: [payment-card]}
        - not:
            detected:
              types: [payment-card, email]
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(where(problem), [11, 37, "rules.0.when.any.1.not.detected.types.1"]);
    assert.match(problem.message, /detector 'email' is not enabled/);
  });

  test("a detector type in a file's detected condition", () => {
    const problem = onlyProblem(`version: v
rules:
  - id: a
    when: {file: {detected: {types: [credit-card]}}}
    outcome: sensitive
    reason: r
${OTHERWISE}`);
    assert.deepEqual(where(problem), [4, 38, "rules.0.when.file.detected.types.0"]);
    assert.match(problem.message, /unknown detector 'credit-card' \(built-in: payment-card,/);
  });

  test("a custom detector type may be used once defined", () => {
    const parsed = parsePolicy(
      `version: v
detectors:
  custom:
    - {type: badge-id, pattern: 'B-\\d{5}'}
rules:
  - id: a
    when: {detected: {types: [badge-id, iban]}}
    outcome: sensitive
    reason: r
${OTHERWISE}`,
      "ok.yaml",
    );
    assert.equal(parsed.ok, true, JSON.stringify(parsed));
  });

  test("a custom detector named like a built-in one", () => {
    const problem = onlyProblem(`version: v
detectors:
  custom:
    - type: iban
      pattern: 'XX\\d{1,8}'
rules: []
${OTHERWISE}`);
    assert.deepEqual(where(problem), [4, 13, "detectors.custom.0.type"]);
    assert.match(problem.message, /'iban' is a built-in detector/);
  });

  test("two custom detectors with one name", () => {
    const problem = onlyProblem(`version: v
detectors:
  custom:
    - {type: badge, pattern: 'B\\d{1,8}'}
    - {type: badge, pattern: 'C\\d{1,8}'}
rules: []
${OTHERWISE}`);
    assert.deepEqual(where(problem), [5, 14, "detectors.custom.1.type"]);
    assert.match(problem.message, /duplicate custom detector 'badge'/);
  });

  test("a custom pattern that is not a valid regular expression is reported on its pattern", () => {
    const problem = onlyProblem(`version: v
detectors:
  custom:
    - type: badge
      pattern: 'B(\\d{1,8}'
rules: []
${OTHERWISE}`);
    assert.deepEqual(where(problem), [5, 16, "detectors.custom.0.pattern"]);
    assert.match(problem.message, /badge/);
  });

  test("a custom pattern the detector compiler refuses (it can match nothing) is reported on its pattern", () => {
    const problem = onlyProblem(`version: v
detectors:
  custom:
    - type: badge
      pattern: 'B?'
rules: []
${OTHERWISE}`);
    assert.deepEqual(where(problem), [5, 16, "detectors.custom.0.pattern"]);
    assert.match(problem.message, /empty string/);
  });

  test("a custom detector requiring a keyword but giving none", () => {
    const problem = onlyProblem(`version: v
detectors:
  custom:
    - type: badge
      pattern: 'B\\d{1,8}'
      requireKeyword: true
rules: []
${OTHERWISE}`);
    assert.deepEqual(where(problem), [6, 23, "detectors.custom.0.requireKeyword"]);
  });

  test("a custom type that is not kebab-case", () => {
    const problem = onlyProblem(`version: v
detectors:
  custom:
    - {type: Badge_ID, pattern: 'B\\d{1,8}'}
rules: []
${OTHERWISE}`);
    assert.deepEqual(where(problem), [4, 14, "detectors.custom.0.type"]);
  });

  test("a built-in listed twice, and an unknown built-in name", () => {
    assert.deepEqual(
      where(
        onlyProblem(
          `version: v\ndetectors:\n  builtin: [iban, email, {type: iban}]\nrules: []\n${OTHERWISE}`,
        ),
      ),
      [3, 26, "detectors.builtin.2"],
    );
    const unknown = onlyProblem(
      `version: v\ndetectors:\n  builtin: [iban, credit-card]\nrules: []\n${OTHERWISE}`,
    );
    assert.deepEqual(where(unknown), [3, 19, "detectors.builtin.1"]);
    assert.match(unknown.message, /payment-card/, "lists the known names");
  });

  test("a bad field inside a built-in's options names the field, not the whole union", () => {
    const problems = problemsOf(
      `version: v\ndetectors:\n  builtin:\n    - {type: iban, minConfidence: 2, colour: red}\nrules: []\n${OTHERWISE}`,
    );
    assert.deepEqual(problems.map(where), [
      [4, 35, "detectors.builtin.0.minConfidence"],
      [4, 38, "detectors.builtin.0.colour"],
    ]);
  });

  test("duplicate rule ids are still reported", () => {
    const problem = onlyProblem(`version: v
rules:
  - {id: a, when: {all: []}, outcome: normal, reason: r}
  - {id: a, when: {all: []}, outcome: normal, reason: r}
${OTHERWISE}`);
    assert.deepEqual(where(problem), [4, 10, "rules.1.id"]);
  });
});

describe("JSON Schema", () => {
  test("policies/policy.schema.json is the schema generated from the zod schema", async () => {
    // Compared as JSON, not as text: the committed file is laid out by prettier like every file.
    const committed: unknown = JSON.parse(
      await readFile(new URL("./policy.schema.json", import.meta.url), "utf8"),
    );
    assert.deepEqual(
      committed,
      policyJsonSchema(),
      "regenerate it: npx tsx -e 'import(\"./policies/index.ts\").then((m) => console.log(JSON.stringify(m.policyJsonSchema(), null, 2)))' > policies/policy.schema.json && npx prettier --write policies/policy.schema.json",
    );
  });

  test("it names every condition kind, requires one key per condition, and lists built-in types", () => {
    const schema = policyJsonSchema() as {
      $defs: Record<
        string,
        { properties: Record<string, unknown>; minProperties: number; maxProperties: number }
      >;
    };
    const condition = schema.$defs.PolicyCondition;
    assert.ok(condition);
    assert.deepEqual(Object.keys(condition.properties), [
      "labels",
      "title",
      "members",
      "externalParticipants",
      "boundTo",
      "sender",
      "detected",
      "file",
      "all",
      "any",
      "not",
    ]);
    assert.deepEqual([condition.minProperties, condition.maxProperties], [1, 1]);
    assert.match(JSON.stringify(schema), /"stripe-live-key"/);
  });

  test("default.yaml points editors at the schema", async () => {
    const text = await readFile(new URL("./default.yaml", import.meta.url), "utf8");
    assert.equal(text.split("\n")[0], "# yaml-language-server: $schema=./policy.schema.json");
  });
});
