import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePolicy } from "./index.ts";
import { StoredText } from "./model.ts";

test("text with a NUL character is refused (PostgreSQL cannot store it)", () => {
  assert.equal(StoredText.safeParse("a\u0000b").success, false);
  assert.equal(StoredText.safeParse("ordinary 文本").success, true);
});

test("a NUL character anywhere in a policy is refused where it stands (PostgreSQL cannot store it)", () => {
  const parsed = parsePolicy(
    'version: v1\nrules: []\notherwise: { outcome: normal, reason: "a\\0b" }\n',
    "p.yaml",
  );
  assert.equal(parsed.ok, false);
  const problem = parsed.ok ? null : parsed.problems[0];
  assert.equal(problem?.path, "otherwise.reason");
  assert.equal(problem?.line, 3);
  assert.match(problem?.message ?? "", /NUL/);
});
