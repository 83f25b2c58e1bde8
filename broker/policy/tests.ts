// Runs test cases sent with a candidate policy (PUT /v1/policy) against that policy.
import {
  parsePolicyTests,
  runPolicyTestSuite,
  type Policy,
  type PolicyTestCaseResult,
} from "../../policies/index.ts";
import type { FieldError } from "../http/problems.ts";

export type PolicyTestsOutcome =
  { ok: false; problems: FieldError[] } | { ok: true; cases: PolicyTestCaseResult[]; failed: number };

export function runPolicyTestsText(policy: Policy, text: string, source: string): PolicyTestsOutcome {
  const parsed = parsePolicyTests(text, source);
  if (!parsed.ok) {
    return {
      ok: false,
      problems: parsed.problems.map((p) => ({
        path: p.path,
        message: p.message,
        line: p.line,
        column: p.column,
      })),
    };
  }
  const cases = runPolicyTestSuite(policy, parsed.suite);
  return { ok: true, cases, failed: cases.filter((c) => !c.passed).length };
}
