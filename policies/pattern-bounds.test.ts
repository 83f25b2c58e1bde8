import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicy } from "./index.ts";
import { maxCustomRepeat, unboundedRepeatProblem } from "./pattern-bounds.ts";

test("bounded patterns pass", () => {
  for (const pattern of [
    "EMP-\\d{6}",
    "PRJ-[A-Z]{3}-\\d{1,4}",
    "a?b",
    "[*+]{2}",
    "\\*\\+",
    "x{3}",
    "{not a repeat}",
    `a{0,${maxCustomRepeat}}`,
  ]) {
    assert.equal(unboundedRepeatProblem(pattern), null, pattern);
  }
});

test("unbounded or too long repeats are refused with their offset", () => {
  const cases: Array<[string, RegExp]> = [
    ["\\d+X", /'\+' at offset 2/],
    ["(a|b)*c", /'\*' at offset 5/],
    ["a{2,}", /'\{2,\}' at offset 1/],
    [`a{1,${maxCustomRepeat + 1}}`, /exceeds/],
    ["[a-z]+", /'\+' at offset 5/],
  ];
  for (const [pattern, message] of cases)
    assert.match(unboundedRepeatProblem(pattern) ?? "", message, pattern);
});

test("a policy with an unbounded custom pattern is refused at that pattern", () => {
  const parsed = parsePolicy(
    `version: v1
detectors:
  custom:
    - type: ticket
      pattern: 'TCK-\\d+'
rules: []
otherwise: { outcome: normal, reason: r }
`,
    "p.yaml",
  );
  assert.equal(parsed.ok, false);
  const problem = parsed.ok ? null : parsed.problems[0];
  assert.equal(problem?.path, "detectors.custom.0.pattern");
  assert.equal(problem?.line, 5);
  assert.match(problem?.message ?? "", /unbounded repeat/);
});
